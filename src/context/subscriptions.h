// NGSI-LD subscriptions (ETSI GS CIM 009, 5.2.12 and 5.8): the domain part. A
// Subscription says which entity changes someone wants to hear about (entity type, id or
// idPattern, watched attributes, a q filter, a geoQ) and how (endpoint, format, projected
// attributes, throttling). SubscriptionManager keeps them durable in store::Store records
// (kind "subscription"), listens to the ContextBroker's durable changes, matches them and
// hands each notification to a NotificationSink (the HTTP sender lives in api/notifier.h).
// It also keeps each subscription's delivery status (timesSent, timesFailed,
// lastNotification, lastSuccess, lastFailure).
//
// Matching happens on the store's completion thread and only decides *who* is notified; the
// payload is rendered later by the sink's threads (RenderNotification), so ingestion is
// never slowed by notification formatting or delivery.
//
// Deliberately not supported (requests using them get OperationNotSupported): periodic
// subscriptions (timeInterval), non-HTTP endpoints (mqtt://), https endpoints, and the
// "concise" notification format. temporalQ, scopeQ, lang, csf are ignored.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "context/broker.h"
#include "context/entity.h"
#include "context/q_query.h"
#include "core/json.h"
#include "core/status.h"
#include "core/time.h"
#include "store/store.h"

namespace cb::context {

// The store::Record kind subscriptions are kept under.
inline constexpr std::string_view kSubscriptionRecordKind = "subscription";

// One member of "entities": type is required; id and idPattern narrow it further.
struct EntitySelector {
  std::string type;
  std::string id;          // empty: any
  std::string id_pattern;  // ECMAScript regular expression searched in the id; empty: any
};

enum class NotificationFormat { kNormalized, kKeyValues };

// notificationTrigger values, as bits. The default is what NGSI-LD 1.8 specifies:
// attributeCreated | attributeUpdated (entity creation creates attributes, so it notifies).
enum Trigger : uint32_t {
  kTriggerEntityCreated = 1u << 0,
  kTriggerEntityUpdated = 1u << 1,
  kTriggerEntityDeleted = 1u << 2,
  kTriggerAttributeCreated = 1u << 3,
  kTriggerAttributeUpdated = 1u << 4,
  kTriggerAttributeDeleted = 1u << 5,
};
inline constexpr uint32_t kDefaultTriggers = kTriggerAttributeCreated | kTriggerAttributeUpdated;

// An immutable subscription definition (what the client asked for). Replaced as a whole
// on PATCH. Value type.
struct Subscription {
  std::string id;
  std::string name;  // subscriptionName
  std::string description;
  std::vector<EntitySelector> entities;
  std::vector<std::string> watched_attributes;
  uint32_t triggers = kDefaultTriggers;
  std::string q_text;
  std::shared_ptr<const QExpr> q;  // parsed q_text; null when none
  std::optional<GeoQuery> geo_q;
  JsonValue geo_q_json;  // geoQ as given (for rendering); null when none

  // notification
  std::vector<std::string> notify_attributes;  // projection; empty: all
  NotificationFormat format = NotificationFormat::kNormalized;
  bool sys_attrs = false;
  std::string endpoint_uri;
  std::string endpoint_accept = "application/json";                // or application/ld+json
  std::vector<std::pair<std::string, std::string>> receiver_info;  // extra HTTP headers

  double throttling_s = 0;  // minimal seconds between two notifications; 0: none
  TimeMs expires_at = kNoTime;
  bool is_active = true;
  TimeMs created_at = kNoTime;
  TimeMs modified_at = kNoTime;
};

// How deliveries went, as the subscription reports it. Value type.
struct DeliveryStatus {
  uint64_t times_sent = 0;    // notifications attempted (delivered or failed)
  uint64_t times_failed = 0;  // notifications not delivered (after retries) or dropped
  TimeMs last_notification = kNoTime;
  TimeMs last_success = kNoTime;
  TimeMs last_failure = kNoTime;
  std::string last_failure_reason;
};

// "active", "paused" (isActive false) or "expired" (expiresAt reached).
std::string_view SubscriptionStatus(const Subscription& s, TimeMs now);

struct ParseSubscriptionOptions {
  TimeMs now = 0;
  bool check_expiry = true;  // expiresAt must lie in the future (create, PATCH of expiresAt)
};

// Parses and validates a subscription body. Unknown members are ignored; the read-only
// status members (status, timesSent, ...) are ignored too. An empty id stays empty (the
// manager generates one). Errors: kBadRequestData (wrong shape), kInvalidRequest (bad q),
// kUnsupported (features listed at the top of this file).
Result<Subscription> ParseSubscription(const JsonValue& body,
                                       const ParseSubscriptionOptions& options);

// Renders the subscription as NGSI-LD JSON with its status and delivery members (what GET
// returns and what the store keeps).
void RenderSubscription(const Subscription& s, const DeliveryStatus& d, TimeMs now, JsonWriter* w);
std::string RenderSubscription(const Subscription& s, const DeliveryStatus& d, TimeMs now);

// An http:// URL split for a client. IPv6 hosts keep no brackets.
struct HttpUrl {
  std::string scheme;  // "http" or "https", lower-case
  std::string host;
  uint16_t port = 80;
  std::string target;  // path and query; "/" when none
};
// Parses http(s)://host[:port][/path][?query]. kBadRequestData when malformed, naming the
// URL as `what`.
Result<HttpUrl> ParseHttpUrl(std::string_view uri,
                             std::string_view what = "notification.endpoint.uri");



// A new id "urn:ngsi-ld:<kind>:<32 hex digits>" (random, not secret).
std::string NewRandomUrn(std::string_view kind);

// One entity in a notification: its state after the change (before it, when deleted).
struct NotifiedEntity {
  EntityPtr entity;
  bool deleted = false;
};

// A notification decided on but not yet rendered or sent. Value type.
struct PendingNotification {
  std::shared_ptr<const Subscription> subscription;  // the definition when it matched
  std::vector<NotifiedEntity> data;
  TimeMs triggered_at = 0;
};

// The NGSI-LD Notification body: {"id", "type": "Notification", "subscriptionId",
// "notifiedAt", "data": [...]}, the entities in the subscription's format, projected to
// its notification attributes. Deleted entities are given as {"id", "type", "deletedAt"}.
std::string RenderNotification(const PendingNotification& n, std::string_view notification_id,
                               TimeMs notified_at);

// Where matched notifications go (the HTTP notifier, or a test double).
class NotificationSink {
 public:
  virtual ~NotificationSink() = default;
  // Called on the store's completion thread: must not block. Returns false when the
  // notification was refused (queue full, stopping); the manager then counts it failed.
  virtual bool Offer(PendingNotification n) = 0;
};

struct SubscriptionOptions {
  size_t max_subscriptions = 10000;
};

struct SubscriptionPage {
  std::vector<std::string> docs;  // rendered subscriptions, ordered by id
  size_t total = 0;
};

// Holds the subscriptions, persists them, matches changes and tracks delivery.
// Thread-safety: every public method is safe to call from any thread. Create/Update/
// Delete/Flush call `done` on the store's completion thread once the change is durable (or
// at once on a validation error); FlushSync must not be called from that thread.
class SubscriptionManager final : public ChangeListener {
 public:
  using Done = std::function<void(Status)>;

  SubscriptionManager(store::Store* store, const Clock* clock, SubscriptionOptions options = {});
  ~SubscriptionManager() override;
  SubscriptionManager(const SubscriptionManager&) = delete;
  SubscriptionManager& operator=(const SubscriptionManager&) = delete;

  // Loads the stored subscriptions (with their last flushed delivery status). Call once
  // before changes flow. A record that no longer parses is skipped with a warning.
  Status Load();
  // Where notifications go; null drops them silently (nothing is counted).
  void SetSink(NotificationSink* sink);

  // Validates `body` (ParseSubscription), assigns an id when it has none, stores it.
  // `done` gets the id, or kAlreadyExists / kTooManyRequests (over max_subscriptions) /
  // a validation or store error.
  void Create(const JsonValue& body, std::function<void(Result<std::string>)> done);
  // The rendered subscription, or kNotFound.
  Result<std::string> Get(const std::string& id) const;
  SubscriptionPage List(size_t offset, size_t limit) const;
  // Applies a PATCH fragment: members given replace those held, null removes one.
  void Update(const std::string& id, const JsonValue& patch, Done done);
  void Delete(const std::string& id, Done done);
  size_t size() const;

  // The definition held now, or null.
  std::shared_ptr<const Subscription> Find(const std::string& id) const;
  Result<DeliveryStatus> Delivery(const std::string& id) const;

  // Reports a delivery outcome (from the sink's threads). Unknown ids are ignored.
  void RecordDelivery(const std::string& id, bool ok, TimeMs at, std::string_view reason = {});

  // Persists delivery status that changed since the last flush (one store batch).
  void Flush(Done done);
  Status FlushSync();

  // ChangeListener: matches the changes and offers one notification per matching
  // subscription (with every matching entity of the batch) to the sink.
  void OnChanges(const std::vector<Change>& changes) override;

  // Counters for metrics.
  uint64_t notifications_matched() const { return matched_.load(); }
  uint64_t notifications_throttled() const { return throttled_.load(); }

 private:
  struct Entry;
  struct Index;
  void RebuildIndexLocked();
  std::string DocLocked(const Entry& e, TimeMs now) const;
  std::shared_ptr<const Index> Snapshot() const;

  store::Store* store_;
  const Clock* clock_;
  SubscriptionOptions options_;

  // Serialises (memory change + Submit) sequences so the store sees them in order.
  std::mutex persist_mu_;
  mutable std::shared_mutex mu_;  // guards entries_ and index_
  using EntryMap = std::map<std::string, std::shared_ptr<Entry>, std::less<>>;
  EntryMap entries_;
  // Finds subscription `id` with both locks held (l on mu_, p on persist_mu_). When it is
  // missing, releases both, reports NotFound through `done` and returns entries_.end().
  EntryMap::iterator FindOrReport(const std::string& id, std::unique_lock<std::shared_mutex>& l,
                                  std::unique_lock<std::mutex>& p, const Done& done);
  std::shared_ptr<const Index> index_;

  std::atomic<NotificationSink*> sink_{nullptr};
  std::atomic<uint64_t> matched_{0};
  std::atomic<uint64_t> throttled_{0};
};

}  // namespace cb::context
