// Validates a CAP 1.2 message with xmllint against the OASIS schema (src/alerts/cap12.xsd,
// which the binary also builds in). Shared by the alerts unit tests and the integration tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace cb::testing {

// xmllint's exit status (0: valid); its output goes to *output.
inline int CapSchemaCheck(const std::string& xml, std::string* output) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("cb-cap-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "alert.xml").string();
  std::ofstream(file) << xml;
  const std::string cmd = "xmllint --noout --schema '" + std::string(CITYBRAIN_SOURCE_DIR) +
                          "/src/alerts/cap12.xsd' '" + file + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) *output += buf;
  const int st = p != nullptr ? pclose(p) : -1;
  std::filesystem::remove_all(dir);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace cb::testing
