// The command line: --help everywhere, configuration files, clear errors for bad flags.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/json.h"

#include "test_server.h"

namespace cb::testing {
namespace {

TEST(CliTest, HelpOnEverySubcommand) {
  auto top = RunCitybrain("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.output.find("serve"), std::string::npos);
  EXPECT_NE(top.output.find("version"), std::string::npos);
  for (const char* sub : {"serve", "version", "replay"}) {
    auto r = RunCitybrain(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_NE(RunCitybrain("serve --help").output.find("--durability"), std::string::npos);
  EXPECT_NE(RunCitybrain("serve --help").output.find("--apply-nice"), std::string::npos);
  // Sanitizer builds (the tests) keep the system allocator; release builds use jemalloc.
  const std::string version = RunCitybrain("version").output;
  EXPECT_TRUE(version == "citybrain 0.1.0 (allocator: system malloc)\n" ||
              version.rfind("citybrain 0.1.0 (allocator: jemalloc ", 0) == 0)
      << version;
}

TEST(CliTest, BadFlagsFailClearly) {
  struct Case {
    const char* args;
    const char* message;
  } cases[] = {
      {"", "subcommand"},
      {"serve --durability sometimes", "durability"},
      {"serve --port 70000", "port"},
      {"serve --apply-nice 20", "apply-nice"},
      {"serve --colour red", "colour"},
      {"frobnicate", "subcommand"},
      {"replay --file x.csv --format csv", "format"},
      {"replay --format melbourne-hourly", "--file"},
      {"replay --file /nonexistent.csv", "cannot read /nonexistent.csv"},
      {"serve --alert-area-code 12ab", "must be 6 digits"},
  };
  for (const auto& c : cases) {
    auto r = RunCitybrain(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << ": " << r.output;
  }
  auto bad_addr = RunCitybrain("serve --data " + MakeTempDir("cb-cli") + " --address not-an-ip --port 0");
  EXPECT_EQ(bad_addr.exit_code, 1);
  EXPECT_NE(bad_addr.output.find("bad listen address"), std::string::npos) << bad_addr.output;
}

TEST(CliTest, ConfigurationFileSetsServeOptions) {
  std::string dir = MakeTempDir("cb-cli");
  int port = FreePort();
  std::ofstream(dir + "/citybrain.toml") << "[serve]\ndata = \"" << dir << "/data\"\nport = " << port
                                         << "\ndurability = \"process\"\n";
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen((dir + "/log").c_str(), "w", stderr);
    (void)f;
    execl(CITYBRAIN_BINARY, CITYBRAIN_BINARY, "--config", (dir + "/citybrain.toml").c_str(), "serve",
          nullptr);
    _exit(127);
  }
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    try {
      up = HttpClient(port, "").Get("/health").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_TRUE(up);
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/citybrain.db"));
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
  std::ifstream log(dir + "/log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("durability process"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

TEST(CliTest, JsonLogsAreOneObjectPerLine) {
  std::string dir = MakeTempDir("cb-cli");
  auto r = RunCitybrain("--log-format json serve --data " + dir + " --address bad\\\"addr --port 0");
  EXPECT_EQ(r.exit_code, 1);
  std::istringstream lines(r.output);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto doc = ParseJson(line);
    ASSERT_TRUE(doc.ok()) << line;
    EXPECT_NE(doc->Find("time"), nullptr);
    EXPECT_NE(doc->Find("level"), nullptr);
    EXPECT_TRUE(doc->Find("msg")->is_string());
    ++n;
  }
  EXPECT_GT(n, 1);
  EXPECT_NE(r.output.find("bad listen address"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cb::testing
