// Users and sign-in sessions against the real server: the demo users file, signing in and
// using the token like a key (headers and the WebSocket subprotocol), GET and DELETE
// /api/v1/session, wrong passwords and the failure limit, user administration, bad
// bodies, bad users files and `citybrain hash-password`.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "core/json.h"
#include "core/time.h"
#include "test_server.h"

namespace cb::testing {
namespace {

const std::string kDemoUsers = std::string(CITYBRAIN_SOURCE_DIR) + "/examples/demo-users.json";

std::string SignInBody(const std::string& user, const std::string& password) {
  return R"({"user":")" + user + R"(","password":")" + password + R"("})";
}

const std::string& Str(const JsonValue& v, const char* key) {
  static const std::string kNone = "(missing)";
  const JsonValue* f = v.Find(key);
  return f != nullptr && f->is_string() ? f->as_string() : kNone;
}

std::vector<std::string> Strings(const JsonValue* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const JsonValue& s : v->as_array()) out.push_back(s.is_string() ? s.as_string() : "?");
  return out;
}

std::string ProblemType(const Response& r) { return Str(Json(r.body), "type"); }

class SessionIT : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {"--users", kDemoUsers}) {
    server_ = std::make_unique<ServerProcess>("", std::move(extra));
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  // Signs in; the token (empty, and a test failure, when refused).
  std::string SignIn(const std::string& user, const std::string& password) {
    HttpClient anon(server_->port(), "");
    Response r = anon.Post("/api/v1/session", SignInBody(user, password));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? Str(Json(r.body), "token") : "";
  }
  Response PostAnon(const std::string& body, const std::string& ct = "application/json") {
    HttpClient anon(server_->port(), "");
    return anon.Post("/api/v1/session", body, ct);
  }
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SessionIT, SignInUseTheTokenAndSignOut) {
  StartServer();
  const TimeMs before = SystemClock::Instance()->Now();
  Response r = PostAnon(SignInBody("operator", "hubin-operator"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  JsonValue body = Json(r.body);
  const std::string token = Str(body, "token");
  EXPECT_EQ(token.rfind("cbk_", 0), 0u) << token;
  auto expires = ParseIso8601(Str(body, "expiresAt"));
  ASSERT_TRUE(expires.ok()) << r.body;
  EXPECT_NEAR(static_cast<double>(*expires - before), 12.0 * 3600 * 1000, 60'000);
  const JsonValue& user = *body.Find("user");
  EXPECT_EQ(Str(user, "name"), "operator");
  EXPECT_EQ(Str(user, "displayName"), "值班长 Duty officer");
  EXPECT_TRUE(user.Find("department")->is_null());
  EXPECT_EQ(Str(user, "locale"), "zh-CN");
  EXPECT_EQ(Strings(user.Find("permissions")),
            (std::vector<std::string>{"context:read", "context:write", "cases:write", "subscriptions",
                                      "metrics"}));
  EXPECT_EQ(r.body.find("argon2"), std::string::npos);

  // The token works like a key: X-Api-Key and Bearer, within its permissions only.
  HttpClient op(server_->port(), token);
  EXPECT_EQ(op.Get("/api/v1/situation/zones").status, 200);
  EXPECT_EQ(op.Get("/api/v1/cases").status, 200);
  Response forbidden = op.Get("/admin/users");
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(ProblemType(forbidden), "urn:citybrain:errors:Forbidden");
  HttpClient bearer(server_->port(), "");
  EXPECT_EQ(bearer.Request(http::verb::get, "/api/v1/situation/zones", "", "application/json",
                           {{"Authorization", "Bearer " + token}}).status, 200);

  Response me = op.Get("/api/v1/session");
  ASSERT_EQ(me.status, 200) << me.body;
  JsonValue m = Json(me.body);
  EXPECT_EQ(Str(*m.Find("user"), "name"), "operator");
  EXPECT_EQ(Str(*m.Find("user"), "displayName"), "值班长 Duty officer");
  EXPECT_EQ(Str(*m.Find("key"), "id"), token.substr(4, token.rfind('_') - 4));
  EXPECT_EQ(Str(*m.Find("key"), "name"), "session:operator");
  EXPECT_EQ(Strings(m.Find("permissions")).size(), 5u);
  EXPECT_EQ(Str(m, "expiresAt"), Str(body, "expiresAt"));

  // A browser's WebSocket offers the token as a subprotocol.
  {
    WsClient ws(server_->port(), "", "/ws/alerts", "citybrain.v1, citybrain.key." + token);
    EXPECT_EQ(ws.accepted_protocol(), "citybrain.v1");
    auto hello = ws.Read(std::chrono::seconds(10));
    ASSERT_TRUE(hello);
    EXPECT_EQ(Str(Json(*hello), "type"), "snapshot");
  }

  // Signing out revokes the token, for requests and WebSockets alike.
  Response out = op.Delete("/api/v1/session");
  EXPECT_EQ(out.status, 204) << out.body;
  Response gone = op.Get("/api/v1/session");
  EXPECT_EQ(gone.status, 401);
  EXPECT_EQ(ProblemType(gone), "urn:citybrain:errors:Unauthorized");
  EXPECT_EQ(op.Get("/api/v1/situation/zones").status, 401);
  EXPECT_ANY_THROW(
      { WsClient ws(server_->port(), "", "/ws/alerts", "citybrain.v1, citybrain.key." + token); });
  EXPECT_EQ(op.Delete("/api/v1/session").status, 401);

  // A grid worker may report cases and follow its own, not read the whole case list nor
  // the metrics.
  HttpClient grid(server_->port(), SignIn("grid01", "hubin-grid01"));
  EXPECT_EQ(grid.Get("/api/v1/cases").body, "[]");
  EXPECT_EQ(grid.Get("/api/v1/cases?reporter=someone-else").status, 403);
  EXPECT_EQ(grid.Get("/metrics").status, 403);
  EXPECT_EQ(grid.Get("/api/v1/situation/zones").status, 200);
  Response szj = PostAnon(SignInBody("szj01", "hubin-szj01"));
  ASSERT_EQ(szj.status, 201);
  EXPECT_EQ(Str(*Json(szj.body).Find("user"), "department"), "szj");

  // The audit log names the user and the address, never the password.
  const std::string log = server_->Log();
  EXPECT_NE(log.find("audit: sign-in user=\"operator\" remote=127.0.0.1"), std::string::npos) << log;
  EXPECT_NE(log.find("audit: sign-out user=\"operator\" remote=127.0.0.1"), std::string::npos) << log;
  EXPECT_EQ(log.find("hubin-operator"), std::string::npos);
}

TEST_F(SessionIT, AnOpenWebSocketClosesOnceItsSessionIsSignedOut) {
  StartServer({"--users", kDemoUsers, "--ws-recheck-ms", "200"});
  const std::string token = SignIn("operator", "hubin-operator");
  const std::string other = SignIn("operator", "hubin-operator");  // a second session
  auto open = [&](const std::string& t) {
    return std::make_unique<WsClient>(server_->port(), "", "/ws/alerts",
                                      "citybrain.v1, citybrain.key." + t);
  };
  auto signed_out = open(token);
  auto still_in = open(other);
  WsClient by_key(server_->port(), server_->admin_key(), "/ws/alerts");
  for (WsClient* ws : {signed_out.get(), still_in.get(), &by_key}) {
    ASSERT_TRUE(ws->Read(std::chrono::seconds(10)));  // the snapshot
  }
  // Several rechecks pass while the keys are good.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));

  HttpClient op(server_->port(), token);
  ASSERT_EQ(op.Delete("/api/v1/session").status, 204);
  // The signed-out session's socket closes (policy, with the reason) within a recheck or
  // two; nothing else is sent on a quiet server, so the next read is the close.
  EXPECT_FALSE(signed_out->Read(std::chrono::seconds(10)));
  ASSERT_TRUE(signed_out->closed());
  EXPECT_EQ(signed_out->close_code(), 1008);
  EXPECT_EQ(signed_out->close_reason(), "invalid API key");
  // The user's other session and the API key stay open.
  EXPECT_FALSE(still_in->Read(std::chrono::milliseconds(700)));
  EXPECT_FALSE(still_in->closed());
  EXPECT_FALSE(by_key.Read(std::chrono::milliseconds(300)));
  EXPECT_FALSE(by_key.closed());
  EXPECT_NE(server_->Log().find("websocket /ws/alerts: closed, its key is no longer valid"),
            std::string::npos);
}

TEST_F(SessionIT, ApiKeysAreSignedInButCannotSignOut) {
  StartServer();
  HttpClient admin = server_->Client();
  Response me = admin.Get("/api/v1/session");
  ASSERT_EQ(me.status, 200) << me.body;
  JsonValue m = Json(me.body);
  EXPECT_TRUE(m.Find("user")->is_null());
  EXPECT_TRUE(m.Find("expiresAt")->is_null());
  EXPECT_EQ(Str(*m.Find("key"), "name"), "bootstrap admin");
  EXPECT_EQ(Strings(m.Find("permissions")), std::vector<std::string>{"admin"});
  Response out = admin.Delete("/api/v1/session");
  EXPECT_EQ(out.status, 409) << out.body;
  EXPECT_EQ(ProblemType(out), "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported");
  EXPECT_NE(out.body.find("API key"), std::string::npos);
  EXPECT_EQ(admin.Get("/api/v1/session").status, 200);  // still works

  // No key: 401; signed-in cannot be granted to keys.
  HttpClient anon(server_->port(), "");
  EXPECT_EQ(anon.Get("/api/v1/session").status, 401);
  EXPECT_EQ(anon.Delete("/api/v1/session").status, 401);
  Response grant = admin.Post("/admin/keys", R"({"name":"x","permissions":["signed-in"]})");
  EXPECT_EQ(grant.status, 400) << grant.body;
  EXPECT_NE(grant.body.find("signed-in"), std::string::npos);
}

TEST_F(SessionIT, WrongPasswordsAndTheFailureLimit) {
  StartServer();
  Response wrong = PostAnon(SignInBody("viewer", "not-it"));
  Response unknown = PostAnon(SignInBody("nobody", "hubin-viewer"));
  for (const Response* r : {&wrong, &unknown}) {
    EXPECT_EQ(r->status, 401) << r->body;
    EXPECT_EQ(ProblemType(*r), "urn:citybrain:errors:Unauthorized");
    EXPECT_EQ(Str(Json(r->body), "detail"), "wrong user name or password");
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(PostAnon(SignInBody("viewer", "guess")).status, 401);
  // The sixth attempt is refused, even with the right password, until the window passes.
  Response limited = PostAnon(SignInBody("viewer", "hubin-viewer"));
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(ProblemType(limited), "urn:citybrain:errors:TooManyRequests");
  const int retry = std::stoi(limited.Header("Retry-After"));
  EXPECT_GT(retry, 250);
  EXPECT_LE(retry, 300);
  // Other names are not held up.
  EXPECT_FALSE(SignIn("operator", "hubin-operator").empty());
  EXPECT_NE(server_->Log().find("reason=too-many-failures"), std::string::npos);
}

TEST_F(SessionIT, BadSignInBodiesAre4xx) {
  StartServer();
  struct Case {
    std::string body, content_type;
    int status;
    std::string type;
  } cases[] = {
      {SignInBody("operator", "hubin-operator"), "text/plain", 415,
       "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported"},
      {"{\"user\":", "application/json", 400, "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"},
      {"[]", "application/json", 400, "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"},
      {R"({"user":"operator"})", "application/json", 400,
       "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"},
      {R"({"password":"hubin-operator"})", "application/json", 400,
       "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"},
      {R"({"user":1,"password":"hubin-operator"})", "application/json", 400,
       "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"},
  };
  for (const Case& c : cases) {
    Response r = PostAnon(c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_EQ(ProblemType(r), c.type) << c.body;
  }
  // None of them counted as a failed sign-in, nor issued anything.
  EXPECT_EQ(server_->Log().find("audit: sign-in"), std::string::npos);
}

TEST_F(SessionIT, AdminManagesUsers) {
  StartServer();
  HttpClient admin = server_->Client();
  Response list = admin.Get("/admin/users");
  ASSERT_EQ(list.status, 200);
  JsonValue users = Json(list.body);
  ASSERT_EQ(users.Find("users")->as_array().size(), 4u) << list.body;
  EXPECT_EQ(Str(users.Find("users")->as_array()[0], "name"), "grid01");
  EXPECT_EQ(Str(users.Find("users")->as_array()[0], "source"), "file");
  EXPECT_EQ(list.body.find("argon2"), std::string::npos);

  const std::string alice =
      R"({"name":"alice","password":"alice-password","displayName":"Alice 值班员","permissions":["context:read"],"department":"cgj","locale":"en"})";
  Response created = admin.Post("/admin/users", alice);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("Location"), "/admin/users/alice");
  JsonValue u = Json(created.body);
  EXPECT_EQ(Str(u, "displayName"), "Alice 值班员");
  EXPECT_EQ(Str(u, "department"), "cgj");
  EXPECT_EQ(Str(u, "locale"), "en");
  EXPECT_EQ(Str(u, "source"), "api");
  EXPECT_EQ(created.body.find("argon2"), std::string::npos);
  EXPECT_EQ(created.body.find("alice-password"), std::string::npos);
  EXPECT_EQ(admin.Post("/admin/users", alice).status, 409);

  // Bad bodies: 4xx and nothing changes.
  struct Bad {
    std::string method, target, body, content_type;
    int status;
  } bad[] = {
      {"POST", "/admin/users", R"({"name":"bob","password":"short","permissions":["context:read"]})", "application/json", 400},
      {"POST", "/admin/users", R"({"name":"bob","password":"bob-password","permissions":["signed-in"]})", "application/json", 400},
      {"POST", "/admin/users", R"({"name":"bob","password":"bob-password","permissions":["context:read"],"department":"nope"})", "application/json", 400},
      {"POST", "/admin/users", R"({"name":"bob","password":"bob-password","permissions":["context:read"],"locale":"fr"})", "application/json", 400},
      {"POST", "/admin/users", R"({"name":"Bob","password":"bob-password","permissions":["context:read"]})", "application/json", 400},
      {"POST", "/admin/users", R"({"name":"bob","password":"bob-password","permissions":["context:read"]})", "text/plain", 415},
      {"POST", "/admin/users", R"({"name":"bob",)", "application/json", 400},
      {"PUT", "/admin/users/alice", R"({"permissions":["root"]})", "application/json", 400},
      {"PUT", "/admin/users/alice", R"({"name":"carol","permissions":["context:read"]})", "application/json", 400},
      {"PUT", "/admin/users/nobody", R"({"permissions":["context:read"]})", "application/json", 404},
      {"PUT", "/admin/users/viewer", R"({"permissions":["admin"]})", "application/json", 409},
      {"DELETE", "/admin/users/viewer", "", "application/json", 409},
      {"DELETE", "/admin/users/nobody", "", "application/json", 404},
  };
  for (const Bad& b : bad) {
    Response r = admin.Request(http::string_to_verb(b.method), b.target, b.body, b.content_type);
    EXPECT_EQ(r.status, b.status) << b.method << " " << b.target << " " << b.body << " → " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << b.body;
  }
  Response after = admin.Get("/admin/users");
  EXPECT_EQ(Json(after.body).Find("users")->as_array().size(), 5u);
  Response alice_now = admin.Get("/admin/users/alice");
  EXPECT_EQ(Json(alice_now.body), u);
  EXPECT_EQ(PostAnon(SignInBody("viewer", "hubin-viewer")).status, 201);  // unchanged

  // Alice signs in; replacing her permissions changes her session at once.
  const std::string token = SignIn("alice", "alice-password");
  HttpClient a(server_->port(), token);
  EXPECT_EQ(a.Get("/metrics").status, 403);
  EXPECT_EQ(a.Get("/admin/users").status, 403);
  Response put = admin.Request(http::verb::put, "/admin/users/alice",
                               R"({"displayName":"Alice","permissions":["metrics"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(Json(put.body).Find("department")->is_null());
  EXPECT_EQ(Str(Json(put.body), "locale"), "zh-CN");
  EXPECT_EQ(a.Get("/metrics").status, 200);
  EXPECT_EQ(Strings(Json(a.Get("/api/v1/session").body).Find("permissions")),
            std::vector<std::string>{"metrics"});
  // A new password ends her sessions.
  ASSERT_EQ(admin.Request(http::verb::put, "/admin/users/alice",
                          R"({"permissions":["cases:read"],"password":"another-password"})").status,
            200);
  EXPECT_EQ(a.Get("/api/v1/session").status, 401);
  EXPECT_EQ(PostAnon(SignInBody("alice", "alice-password")).status, 401);
  HttpClient a2(server_->port(), SignIn("alice", "another-password"));
  EXPECT_EQ(a2.Get("/api/v1/session").status, 200);
  // Deleting her revokes every session.
  EXPECT_EQ(admin.Delete("/admin/users/alice").status, 204);
  EXPECT_EQ(a2.Get("/api/v1/session").status, 401);
  EXPECT_EQ(admin.Get("/admin/users/alice").status, 404);
  EXPECT_EQ(PostAnon(SignInBody("alice", "another-password")).status, 401);
}

TEST_F(SessionIT, SessionsSurviveARestartAndFollowTheFlags) {
  StartServer({"--users", kDemoUsers, "--session-hours", "1"});
  const TimeMs before = SystemClock::Instance()->Now();
  Response r = PostAnon(SignInBody("viewer", "hubin-viewer"));
  ASSERT_EQ(r.status, 201);
  auto expires = ParseIso8601(Str(Json(r.body), "expiresAt"));
  ASSERT_TRUE(expires.ok());
  EXPECT_NEAR(static_cast<double>(*expires - before), 3600.0 * 1000, 60'000);
  const std::string token = Str(Json(r.body), "token");
  const std::string dir = server_->data_dir();
  server_->Stop();
  server_ = std::make_unique<ServerProcess>(dir, std::vector<std::string>{"--users", kDemoUsers});
  ASSERT_TRUE(server_->Start()) << server_->Log();
  HttpClient v(server_->port(), token);
  EXPECT_EQ(v.Get("/api/v1/session").status, 200);
  // Started without the users file, its users and their sessions are gone.
  server_->Stop();
  server_ = std::make_unique<ServerProcess>(dir);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  HttpClient v2(server_->port(), token);
  EXPECT_EQ(v2.Get("/api/v1/session").status, 401);
  EXPECT_EQ(PostAnon(SignInBody("viewer", "hubin-viewer")).status, 401);
}

TEST_F(SessionIT, HashPasswordMakesUsersFileEntriesAndBadFilesStopStartUp) {
  const std::string dir = MakeTempDir("citybrain-users");
  {
    std::ofstream(dir + "/pw") << "a long enough password\n";
    std::ofstream(dir + "/short") << "short\n";
  }
  CommandResult hashed = RunCitybrain("hash-password < " + dir + "/pw");
  ASSERT_EQ(hashed.exit_code, 0) << hashed.output;
  std::string hash = hashed.output.substr(0, hashed.output.find('\n'));
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hashed.output;
  CommandResult too_short = RunCitybrain("hash-password < " + dir + "/short");
  EXPECT_EQ(too_short.exit_code, 1);
  EXPECT_NE(too_short.output.find("8 to 1,024 characters"), std::string::npos) << too_short.output;
  CommandResult help = RunCitybrain("hash-password --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("argon2id"), std::string::npos) << help.output;

  {
    std::ofstream(dir + "/users.json")
        << R"({"users":[{"name":"duty","displayName":"Duty","passwordHash":")" << hash
        << R"(","permissions":["context:read"],"locale":"en"}]})";
    std::ofstream(dir + "/bad.json")
        << R"({"users":[{"name":"duty","passwordHash":")" << hash
        << R"(","permissions":["context:read"]},{"name":"bad","passwordHash":")" << hash
        << R"(","permissions":["context:read"],"locale":"fr"}]})";
    std::ofstream(dir + "/plain.json")
        << R"({"users":[{"name":"duty","password":"a long enough password","permissions":["context:read"]}]})";
  }
  StartServer({"--users", dir + "/users.json"});
  EXPECT_FALSE(SignIn("duty", "a long enough password").empty());
  server_->Stop();

  for (const auto& [file, names] : {std::pair<std::string, std::string>{"bad.json", "users[1] (bad): locale"},
                                    {"plain.json", "users[0] (duty): password"},
                                    {"missing.json", "cannot be read"}}) {
    ServerProcess s("", {"--users", dir + "/" + file});
    EXPECT_FALSE(s.Start()) << file;
    EXPECT_NE(s.Log().find(names), std::string::npos) << s.Log();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cb::testing
