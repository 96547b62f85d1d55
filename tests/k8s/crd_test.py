"""The CRDs are valid for Kubernetes 1.30 and 1.34; every good custom resource validates against
them (exit code 0); every bad one is refused (exit code 1) for the reason its "# expect:" line names;
the chart ships the same CRDs; Subscription versions round-trip without a conversion webhook.

validate.py's main() runs in this process once per file (its return value is the exit code the
command would give): a process per file costs more than the check on a loaded machine.
Run with Debian's /usr/bin/python3 (python3-yaml, python3-jsonschema).
"""
import contextlib
import filecmp
import glob
import importlib.util
import io
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VALIDATE = os.path.join(ROOT, "..", "shared", "k8s", "validate.py")
VERSIONS = ("1.30", "1.34")

passed, failed = 0, 0


def result(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)
        for line in detail.strip().splitlines()[-6:]:
            print("    " + line)


def load_validate():
    spec = importlib.util.spec_from_file_location("validate", VALIDATE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(validate, args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            rc = validate.main(args)
        except SystemExit as e:  # argparse usage errors
            rc = e.code
    return rc, out.getvalue()


def main():
    if not os.path.exists(VALIDATE):
        print("missing", VALIDATE)
        return 1
    validate = load_validate()
    crd_files = sorted(glob.glob(os.path.join(ROOT, "crds", "*.yaml")))
    crd_args = [a for f in crd_files for a in ("--crd", f)]
    good = sorted(glob.glob(os.path.join(HERE, "testdata", "good", "*.yaml")))
    bad = sorted(glob.glob(os.path.join(HERE, "testdata", "bad", "*.yaml")))
    result(len(good) > 0 and len(bad) > 0, "test data present")

    for v in VERSIONS:
        rc, out = run(validate, ["--k8s-version", v] + crd_files)
        result(rc == 0, "CRDs valid for %s (exit %s)" % (v, rc), out)
        for f in good:
            rc, out = run(validate, ["--k8s-version", v] + crd_args + [f])
            result(rc == 0, "%s should be valid for %s (exit %s)" % (os.path.basename(f), v, rc), out)
        for f in bad:
            want = [l[len("# expect: "):].rstrip("\n") for l in open(f) if l.startswith("# expect: ")]
            rc, out = run(validate, ["--k8s-version", v] + crd_args + [f])
            name = os.path.basename(f)
            if rc != 1:
                result(False, "%s should be refused for %s (exit %s, want 1)" % (name, v, rc), out)
            elif not want:
                result(False, "%s has no '# expect:' line" % name)
            else:
                result("ERROR   " + want[0] in out,
                       "%s refused for %s, but not with: %s" % (name, v, want[0]), out)

    chart_crds = os.path.join(ROOT, "charts", "outrigger", "crds")
    cmp = filecmp.dircmp(os.path.join(ROOT, "crds"), chart_crds)
    result(not (cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files),
           "charts/outrigger/crds differs from crds/",
           str(cmp.left_only + cmp.right_only + cmp.diff_files))

    # Conversion "None" only rewrites apiVersion, and the API server prunes what the target
    # version's schema lacks: both versions must know the same spec fields or a route is lost
    # between v1alpha1 and the stored v2alpha1.
    crd = yaml.safe_load(open(os.path.join(ROOT, "crds", "subscriptions.yaml")))
    result(crd["spec"].get("conversion", {}).get("strategy") == "None",
           "Subscription conversion strategy changed: revisit this check")
    storage = [v["name"] for v in crd["spec"]["versions"] if v["storage"]]
    result(storage == ["v2alpha1"], "Subscription stored as v2alpha1, got %s" % storage)
    specs = {v["name"]: set(v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])
             for v in crd["spec"]["versions"]}
    only = specs["v1alpha1"] ^ specs["v2alpha1"]
    result(not only, "Subscription spec fields only in one version: %s" % sorted(only))

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
