#pragma once

// A component's metadata.yaml documents its fields: this checks, with gtest expectations, that it
// says what the factory checks (the same names, required flags and defaults).

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "sidecar/runtime/metadata.h"

namespace outrigger::testing {

inline void expectMetadataYamlMatches(const std::string& path, const std::string& block,
                                      const std::string& name,
                                      const std::vector<sidecar::runtime::MetadataField>& fields) {
  SCOPED_TRACE(path);
  YAML::Node doc;
  ASSERT_NO_THROW(doc = YAML::LoadFile(path)) << path;
  EXPECT_EQ(doc["type"].as<std::string>(), block);
  EXPECT_EQ(doc["name"].as<std::string>(), name);
  std::map<std::string, YAML::Node> documented;
  for (YAML::const_iterator it = doc["metadata"].begin(); it != doc["metadata"].end(); ++it) {
    const YAML::Node& field = *it;
    documented[field["name"].as<std::string>()] = field;
  }
  EXPECT_EQ(documented.size(), fields.size());
  for (const auto& field : fields) {
    auto it = documented.find(field.name);
    ASSERT_NE(it, documented.end()) << field.name << " is not in " << path;
    EXPECT_EQ(it->second["required"].as<bool>(false), field.required) << field.name;
    if (field.default_value) {
      EXPECT_EQ(it->second["default"].as<std::string>(""), *field.default_value) << field.name;
    } else {
      EXPECT_FALSE(it->second["default"]) << field.name;
    }
  }
}

}  // namespace outrigger::testing
