#include "app/import_command.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "cases/csv_import.h"
#include "core/json.h"
#include "sim/http_client.h"

namespace cb::app {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "import-cases: %s\n", message.c_str());
  return 1;
}

}  // namespace

CLI::App* AddImportCommand(CLI::App* app, ImportCommandArgs* a) {
  CLI::App* cmd = app->add_subcommand(
      "import-cases",
      "import a hotline export (CSV) into a running server through a column mapping "
      "(see examples/cases/boston-mapping.json and docs/cases.md)");
  cmd->add_option("file", a->file, "the CSV file (RFC 4180, first row the header)")->required();
  cmd->add_option("--mapping", a->mapping, "the column mapping (JSON)")->required();
  cmd->add_option("--server", a->server, "the server")->capture_default_str();
  cmd->add_option("--key", a->key, "an API key with the admin permission")->required();
  cmd->add_option("--batch", a->batch, "cases per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_flag("--json", a->json, "print the final report as JSON");
  return cmd;
}

int RunImportCommand(const ImportCommandArgs& a) {
  std::ifstream mapping_file(a.mapping, std::ios::binary);
  if (!mapping_file) return Fail("cannot read the mapping " + a.mapping);
  const std::string mapping_text{std::istreambuf_iterator<char>(mapping_file), std::istreambuf_iterator<char>()};
  auto mapping_json = ParseJson(mapping_text);
  if (!mapping_json.ok()) return Fail(a.mapping + ": " + mapping_json.status().message());
  auto mapping = cases::CsvMapping::FromJson(*mapping_json);
  if (!mapping.ok()) return Fail(a.mapping + ": " + mapping.status().message());
  auto reader = cases::CsvReader::OpenFile(a.file);
  if (!reader.ok()) return Fail(reader.status().message());
  auto client = sim::HttpClient::Connect(a.server, a.key);
  if (!client.ok()) return Fail(client.status().message());

  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto post = [&](std::vector<cases::ImportedCase> rows) -> Result<size_t> {
    std::string body = "{\"cases\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) body += ',';
      cases::ImportedCaseToJson(rows[i]).DumpTo(&body);
    }
    body += "]}";
    auto r = (*client)->Post("/api/v1/cases/import", body);
    // 503: the server's import queue is full (other imports run); it asks to come back.
    for (int tries = 0; r.ok() && r->status == 503 && tries < 30; ++tries) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      r = (*client)->Post("/api/v1/cases/import", body);
    }
    if (!r.ok()) return r.status();
    if (r->status != 201) {
      return Status::Unavailable("the server answered " + std::to_string(r->status) + ": " +
                                 r->body.substr(0, 400));
    }
    auto reply = ParseJson(r->body);
    const JsonValue* n = reply.ok() ? reply->Find("imported") : nullptr;
    if (n == nullptr || !n->is_int()) return Status::Internal("unexpected answer: " + r->body.substr(0, 200));
    return static_cast<size_t>(n->as_int());
  };
  cases::ImportReport report;
  Status st = cases::ImportCsv(reader->get(), *mapping, a.batch, post, &report,
                               [&](const cases::ImportReport& r) {
                                 std::printf("import-cases: %llu rows read, %llu imported, %llu skipped (%.1f s)\n",
                                             static_cast<unsigned long long>(r.rows_read),
                                             static_cast<unsigned long long>(r.imported),
                                             static_cast<unsigned long long>(r.skipped), seconds());
                                 std::fflush(stdout);
                               });
  const double s = seconds();
  const double rate = s > 0 ? static_cast<double>(report.rows_read) / s : 0;
  if (a.json) {
    JsonValue j = report.ToJson();
    j.Set("seconds", s);
    j.Set("rowsPerSecond", rate);
    std::printf("%s\n", j.Dump().c_str());
  } else {
    std::printf("%s", report.ToText().c_str());
    std::printf("RESULT name=import-cases rows=%llu imported=%llu skipped=%llu seconds=%.3f rows_per_s=%.0f\n",
                static_cast<unsigned long long>(report.rows_read),
                static_cast<unsigned long long>(report.imported),
                static_cast<unsigned long long>(report.skipped), s, rate);
  }
  if (!st.ok()) return Fail(st.message());
  return 0;
}

}  // namespace cb::app
