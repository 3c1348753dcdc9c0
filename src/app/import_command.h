// `citybrain import-cases FILE.csv --mapping M.json --server URL --key KEY [--batch N]`:
// imports a hotline export (a city's 12345 or 311 system) into a running server. The file is
// read and mapped here (cases/csv_import.h), row by row, and posted in batches to
// POST /api/v1/cases/import; a progress line per batch and a final report (rows read,
// imported, skipped by reason, rows/s) go to standard output. Rows that cannot be mapped
// are skipped and reported; a batch the server refuses stops the import (the batches before
// it stay imported). This file only parses the command line and wires the parts.
// Thread-safety: run from main's thread.
#pragma once

#include <cstddef>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace cb::app {

struct ImportCommandArgs {
  std::string file;
  std::string mapping;
  std::string server = "http://127.0.0.1:1026";
  std::string key;
  size_t batch = 1000;
  bool json = false;  // the final report as JSON
};

// Adds the `import-cases` subcommand to `app`, filling `args`; returns it.
CLI::App* AddImportCommand(CLI::App* app, ImportCommandArgs* args);

// Runs it; the process exit code (0: the file was read to its end, every mapped row imported).
int RunImportCommand(const ImportCommandArgs& args);

}  // namespace cb::app
