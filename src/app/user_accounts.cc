#include "app/user_accounts.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "core/json.h"
#include "security/users.h"

namespace cb::app {

Status SyncUsersFile(const std::string& path, security::UserDirectory* users) {
  std::vector<security::UserSpec> specs;
  if (!path.empty()) {
    auto bad = [&path](const std::string& why) {
      return Status::BadRequestData("users file " + path + ": " + why);
    };
    std::ifstream in(path);
    if (!in) return bad("cannot be read");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto doc = ParseJson(text);
    if (!doc.ok()) return bad(doc.status().message());
    const JsonValue* list = doc->is_object() ? doc->Find("users") : nullptr;
    if (list == nullptr || !list->is_array()) return bad("must be {\"users\": [ … ]}");
    for (size_t i = 0; i < list->as_array().size(); ++i) {
      const JsonValue& entry = list->as_array()[i];
      auto spec = security::ParseUserSpec(entry, security::UserInput::kFile);
      if (!spec.ok()) {
        const JsonValue* name = entry.is_object() ? entry.Find("name") : nullptr;
        return bad("users[" + std::to_string(i) + "]" +
                   (name != nullptr && name->is_string() ? " (" + name->as_string() + ")" : "") +
                   ": " + spec.status().message());
      }
      specs.push_back(std::move(spec).value());
    }
  }
  Status st = users->SyncFileUsers(specs);
  if (!st.ok() && st.code() == Code::kBadRequestData) {
    return Status::BadRequestData("users file " + path + ": " + st.message());
  }
  return st;
}

CLI::App* AddHashPasswordCommand(CLI::App* app) {
  return app->add_subcommand(
      "hash-password",
      "read a password (one line) from standard input and print its argon2id hash, for the "
      "passwordHash of a users file (serve --users)");
}

int RunHashPasswordCommand() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::fprintf(stderr, "Password: ");
  }
  std::string password;
  const bool got = static_cast<bool>(std::getline(std::cin, password));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!got) {
    std::fprintf(stderr, "hash-password: no password on standard input\n");
    return 1;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  Status st = security::CheckPassword(password);
  if (!st.ok()) {
    std::fprintf(stderr, "hash-password: %s\n", st.message().c_str());
    return 1;
  }
  auto hash = security::HashPassword(password);
  if (!hash.ok()) {
    std::fprintf(stderr, "hash-password: %s\n", hash.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", hash->c_str());
  return 0;
}

}  // namespace cb::app
