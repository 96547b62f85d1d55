"""Checks a rendering of charts/outrigger (YAML on stdin) for what schema validation cannot see:
Dapr's object names and ports, least-privilege RBAC, hardened pods, HA settings and a webhook
certificate that the caBundle actually vouches for.

usage: helm template ... | chart_checks.py --namespace NS [--ha] [--failure-policy P]
                                           [--cert-manager] [--registry R]
Prints one line per failed check; exit 1 if any failed.
"""
import argparse
import base64
import os
import subprocess
import sys
import tempfile

import yaml

FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
    return cond


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)


def check_pods(deps, registry, ha, replicas):
    for name, d in deps.items():
        spec = d["spec"]["template"]["spec"]
        psc = spec.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True, f"{name}: pod runAsNonRoot")
        check((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
              f"{name}: pod seccompProfile RuntimeDefault")
        check(spec.get("automountServiceAccountToken") is not False and spec.get("serviceAccountName"),
              f"{name}: runs under its own ServiceAccount")
        for c in spec["containers"]:
            sc = c.get("securityContext") or {}
            where = f"{name}/{c['name']}"
            check(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
            check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
            check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{where}: drops ALL")
            check(sc.get("privileged") is not True, f"{where}: not privileged")
            res = c.get("resources") or {}
            check(res.get("requests") and res.get("limits"), f"{where}: requests and limits")
            check(c["image"].startswith(registry + "/"), f"{where}: image from {registry}")
            check(c.get("readinessProbe") and c.get("livenessProbe"), f"{where}: probes")
            names = {p.get("name") for p in c.get("ports") or []}
            for probe in ("readinessProbe", "livenessProbe"):
                port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
                check(isinstance(port, int) or port in names, f"{where}: {probe} port {port} exists")
        want = replicas if ha else None
        if want is not None:
            check(d["spec"]["replicas"] == want, f"{name}: {want} replicas in HA")
            aff = ((spec.get("affinity") or {}).get("podAntiAffinity") or {})
            check(aff, f"{name}: pod anti-affinity in HA")


def check_rbac(docs, ns):
    for kind in ("ClusterRole", "Role"):
        for name, r in by_kind(docs, kind).items():
            for rule in r.get("rules") or []:
                for f in ("apiGroups", "resources", "verbs"):
                    check("*" not in (rule.get(f) or []), f"{kind} {name}: no '*' in {f}")
                res, verbs = set(rule.get("resources") or []), set(rule.get("verbs") or [])
                if "secrets" in res:
                    check(verbs <= {"get"}, f"{kind} {name}: secrets only read one by one (get)")
                writes = verbs & {"create", "update", "patch", "delete", "deletecollection"}
                if writes:
                    allowed = {"services", "leases", "tokenreviews"} | {x for x in res if x.endswith("/finalizers")}
                    check(res <= allowed, f"{kind} {name}: writes only Services, Leases, finalizers, "
                                          f"TokenReviews (got {sorted(res)} {sorted(writes)})")
                if "tokenreviews" in res:
                    check(verbs == {"create"} and rule.get("apiGroups") == ["authentication.k8s.io"],
                          f"{kind} {name}: tokenreviews only created")
                if "leases" in res:
                    check(kind == "Role" and r["metadata"]["namespace"] == ns,
                          f"{name}: Lease access only in {ns}")
    # The operator authenticates sidecars with TokenReviews.
    op_rules = (by_kind(docs, "ClusterRole").get("outrigger-operator") or {}).get("rules") or []
    check(any("tokenreviews" in (r.get("resources") or []) and "create" in (r.get("verbs") or [])
              for r in op_rules), "ClusterRole outrigger-operator: create tokenreviews")
    sas = set(by_kind(docs, "ServiceAccount"))
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for name, b in by_kind(docs, kind).items():
            for s in b.get("subjects") or []:
                check(s["name"] in sas, f"{kind} {name}: subject {s['name']} is a ServiceAccount here")
            roles = by_kind(docs, b["roleRef"]["kind"])
            check(b["roleRef"]["name"] in roles, f"{kind} {name}: role {b['roleRef']['name']} exists")
    for name, d in by_kind(docs, "Deployment").items():
        sa = d["spec"]["template"]["spec"].get("serviceAccountName")
        check(sa in sas, f"{name}: ServiceAccount {sa} exists")


def check_services(docs, deps):
    svcs = by_kind(docs, "Service")
    expect = {"dapr-api": ("dapr-operator", {443: "api", 80: "api"}),
              "dapr-sidecar-injector": ("dapr-sidecar-injector", {443: "https"})}
    for svc, (dep, ports) in expect.items():
        if not check(svc in svcs, f"Service {svc} exists") or not check(dep in deps, f"{dep} exists"):
            continue
        s, d = svcs[svc], deps[dep]
        labels = d["spec"]["template"]["metadata"]["labels"]
        check(all(labels.get(k) == v for k, v in s["spec"]["selector"].items()),
              f"Service {svc} selects {dep}'s pods")
        got = {p["port"]: p.get("targetPort") for p in s["spec"]["ports"]}
        check(got == ports, f"Service {svc}: ports {ports}, got {got}")
        cports = {p["name"]: p["containerPort"] for c in d["spec"]["template"]["spec"]["containers"]
                  for p in c.get("ports") or []}
        for target in ports.values():
            check(target in cports, f"Service {svc}: targetPort {target} is a port of {dep}")
    cports = {p["name"]: p["containerPort"] for c in
              deps.get("dapr-sidecar-injector", {}).get("spec", {}).get("template", {}).get("spec", {})
              .get("containers", []) for p in c.get("ports") or []}
    check(cports.get("https") == 4000, "injector serves the webhook on 4000")
    op = {p["name"]: p["containerPort"] for c in deps["dapr-operator"]["spec"]["template"]["spec"]["containers"]
          for p in c.get("ports") or []}
    check(op == {"api": 6500, "healthz": 8080, "metrics": 9090}, f"operator ports, got {op}")


def check_pdbs(docs, deps, ha):
    pdbs = by_kind(docs, "PodDisruptionBudget")
    if not ha:
        check(not pdbs, "no PodDisruptionBudget without HA")
        return
    for name, d in deps.items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        match = [p for p in pdbs.values()
                 if all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())]
        check(len(match) == 1, f"{name}: one PodDisruptionBudget in HA")


def webhook_of(docs, ns, failure_policy):
    mwcs = by_kind(docs, "MutatingWebhookConfiguration")
    if not check(list(mwcs) == ["dapr-sidecar-injector"], "one MutatingWebhookConfiguration, dapr-sidecar-injector"):
        return None, None
    m = mwcs["dapr-sidecar-injector"]
    w = m["webhooks"][0]
    check(w["name"] == "sidecar-injector.dapr.io", "webhook sidecar-injector.dapr.io")
    svc = w["clientConfig"]["service"]
    check(svc == {"name": "dapr-sidecar-injector", "namespace": ns, "port": 443, "path": "/mutate"},
          f"webhook calls dapr-sidecar-injector.{ns}:443/mutate, got {svc}")
    check(w["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                          "operations": ["CREATE"]}], "webhook sees pod CREATE only")
    check(w["failurePolicy"] == failure_policy, f"failurePolicy {failure_policy}, got {w['failurePolicy']}")
    check(w["sideEffects"] == "None" and w["reinvocationPolicy"] == "IfNeeded", "sideEffects/reinvocation")
    return m, w


def injector_secret_name(deps):
    vols = deps["dapr-sidecar-injector"]["spec"]["template"]["spec"]["volumes"]
    return [v["secret"]["secretName"] for v in vols if "secret" in v][0]


def check_self_signed(docs, deps, ns, w):
    secret = by_kind(docs, "Secret").get(injector_secret_name(deps))
    if not check(secret is not None, "the injector's TLS Secret is rendered"):
        return
    data = secret["data"]
    check(w["clientConfig"].get("caBundle") == data["ca.crt"], "caBundle is the Secret's ca.crt")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for k in ("ca.crt", "tls.crt", "tls.key"):
            paths[k] = os.path.join(tmp, k)
            with open(paths[k], "wb") as f:
                f.write(base64.b64decode(data[k]))
        v = openssl("verify", "-CAfile", paths["ca.crt"], paths["tls.crt"])
        check(v.returncode == 0, f"serving certificate verifies against the caBundle: {v.stdout}{v.stderr}")
        san = openssl("x509", "-in", paths["tls.crt"], "-noout", "-ext", "subjectAltName").stdout
        for n in (f"dapr-sidecar-injector.{ns}.svc", f"dapr-sidecar-injector.{ns}.svc.cluster.local"):
            check(f"DNS:{n}" in san, f"serving certificate names {n}: {san.strip()}")
        cert_pub = openssl("x509", "-in", paths["tls.crt"], "-noout", "-pubkey").stdout
        key_pub = openssl("pkey", "-in", paths["tls.key"], "-pubout").stdout
        check(cert_pub and cert_pub == key_pub, "tls.key is the serving certificate's key")


def check_cert_manager(docs, deps, ns, m, w):
    check("caBundle" not in w["clientConfig"], "no caBundle of the chart's own with cert-manager")
    check(not by_kind(docs, "Secret"), "no TLS Secret of the chart's own with cert-manager")
    certs = by_kind(docs, "Certificate")
    serving = [c for c in certs.values() if c["spec"]["secretName"] == injector_secret_name(deps)]
    if not check(len(serving) == 1, "one Certificate fills the injector's TLS Secret"):
        return
    c = serving[0]
    check(f"dapr-sidecar-injector.{ns}.svc" in c["spec"]["dnsNames"], "Certificate names the Service")
    ann = (m["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from")
    check(ann == f"{ns}/{c['metadata']['name']}", f"cainjector reads {ns}/{c['metadata']['name']}, got {ann}")
    issuers = by_kind(docs, "Issuer")
    ref = c["spec"]["issuerRef"]
    check(ref["kind"] != "Issuer" or ref["name"] in issuers, f"Issuer {ref['name']} is rendered")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--ha", action="store_true")
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--failure-policy", default="Ignore")
    ap.add_argument("--cert-manager", action="store_true")
    ap.add_argument("--registry", default="ghcr.io/outrigger")
    a = ap.parse_args()
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    deps = by_kind(docs, "Deployment")
    check(set(deps) == {"dapr-operator", "dapr-sidecar-injector"}, f"Deployments: {sorted(deps)}")
    check_pods(deps, a.registry, a.ha, a.replicas)
    check_rbac(docs, a.namespace)
    check_services(docs, deps)
    check_pdbs(docs, deps, a.ha)
    m, w = webhook_of(docs, a.namespace, a.failure_policy)
    if w is not None:
        if a.cert_manager:
            check_cert_manager(docs, deps, a.namespace, m, w)
        else:
            check_self_signed(docs, deps, a.namespace, w)
    for f in FAILED:
        print("check failed:", f)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
