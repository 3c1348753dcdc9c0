#include "alerts/alerts.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <utility>

namespace cb::alerts {
namespace {

constexpr int64_t kBeijingOffsetMs = 8 * 3600000;

int ClampLevel(int level) { return std::clamp(level, 1, 4); }

// "YYYYMMDDhhmmss" of t shifted by offset_ms.
std::string Compact(TimeMs t, int64_t offset_ms) {
  const std::string iso = FormatIso8601(t + offset_ms);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  std::string out;
  for (char c : iso.substr(0, 19)) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

// CAP's dateTime: "YYYY-MM-DDThh:mm:ss+08:00" (no fraction, explicit offset).
std::string CapTime(TimeMs t, bool beijing) {
  return FormatIso8601(t + (beijing ? kBeijingOffsetMs : 0)).substr(0, 19) +
         (beijing ? "+08:00" : "+00:00");
}

void AppendEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&apos;"); break;
      default: out->push_back(c);
    }
  }
}

void Element(std::string* out, std::string_view indent, std::string_view name,
             std::string_view text) {
  out->append(indent).append("<").append(name).append(">");
  AppendEscaped(out, text);
  out->append("</").append(name).append(">\n");
}

std::string_view CapCategory(std::string_view category) {
  if (category == "crowd") return "Safety";
  if (category == "parking") return "Transport";
  if (category == "device") return "Infra";
  if (category == "weather") return "Met";
  if (category == "fire") return "Fire";
  if (category == "health") return "Health";
  return "Other";
}

std::string_view CapSeverity(int level) {
  switch (ClampLevel(level)) {
    case 1: return "Extreme";
    case 2: return "Severe";
    case 3: return "Moderate";
    default: return "Minor";
  }
}

std::string Sender(const AlertOptions& o) {
  return o.area_code.empty() ? "citybrain" : o.area_code + o.industry_code + "00000";
}

}  // namespace

std::string_view AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kAcknowledged: return "acknowledged";
    case AlertState::kResolved: return "resolved";
    case AlertState::kActive: break;
  }
  return "active";
}

std::string_view LevelName(int level) {
  static constexpr std::string_view kNames[] = {"I", "II", "III", "IV"};
  return kNames[ClampLevel(level) - 1];
}

std::string_view LevelColor(int level) {
  static constexpr std::string_view kColors[] = {"red", "orange", "yellow", "blue"};
  return kColors[ClampLevel(level) - 1];
}

AlertBook::AlertBook(AlertOptions options) : options_(std::move(options)) {}

std::string AlertBook::NextIdentifierLocked(TimeMs at) {
  // N is one digit in GB/T 35965.1: past ten messages in one second, the next second is used.
  TimeMs second = at / 1000 * 1000;
  if (second < last_id_second_) second = last_id_second_;
  if (second == last_id_second_) {
    if (++id_sequence_ > 9) {
      second += 1000;
      id_sequence_ = 0;
    }
  } else {
    id_sequence_ = 0;
  }
  last_id_second_ = second;
  if (options_.area_code.empty()) {
    return "citybrain_" + Compact(second, 0) + "_" + std::to_string(id_sequence_);
  }
  return Sender(options_) + "_" + Compact(second, kBeijingOffsetMs) + "_" +
         std::to_string(id_sequence_);
}

Alert& AlertBook::Record(Alert& a, TimeMs now, std::string what) {
  a.updated_at = now;
  a.history.push_back({now, std::move(what)});
  return a;
}

Result<Alert> AlertBook::Raise(const AlertSpec& spec, TimeMs now) {
  if (spec.key.empty()) return Status::BadRequestData("alert: the key is empty");
  if (spec.category.empty()) return Status::BadRequestData("alert: the category is empty");
  if (spec.level < 1 || spec.level > 4) {
    return Status::BadRequestData("alert: the level must be 1 (I) to 4 (IV)");
  }
  std::vector<std::pair<Alert, std::string>> changes;
  Alert out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto open = open_by_key_.find(spec.key);
    if (open != open_by_key_.end()) {
      Alert& a = alerts_[open->second];
      const int before = a.spec.level;
      a.spec = spec;
      ++a.occurrences;
      if (before != spec.level) {
        const std::string what = std::string(spec.level < before ? "raised to level " : "lowered to level ") +
                                 std::string(LevelName(spec.level));
        Record(a, now, what);
        a.cap_messages.push_back({NextIdentifierLocked(now), now, "Update", a.spec});
        if (spec.level < before && a.state == AlertState::kAcknowledged) {
          // Worse than what was acknowledged: it needs acknowledging again.
          a.state = AlertState::kActive;
          a.ack_deadline = now + options_.ack_deadline_ms;
        }
        changes.emplace_back(a, what);
      } else {
        a.updated_at = now;
      }
      out = a;
    } else {
      Alert a;
      a.identifier = NextIdentifierLocked(now);
      a.id = "urn:ngsi-ld:Alert:" + a.identifier;
      a.spec = spec;
      a.raised_at = now;
      a.ack_deadline = now + options_.ack_deadline_ms;
      a.cap_messages.push_back({a.identifier, now, "Alert", a.spec});
      Record(a, now, "raised at level " + std::string(LevelName(spec.level)));
      by_id_[a.id] = alerts_.size();
      open_by_key_[spec.key] = alerts_.size();
      alerts_.push_back(a);
      changes.emplace_back(a, a.history.back().what);
      out = std::move(a);
    }
  }
  Notify(changes);
  return out;
}

Result<Alert> AlertBook::ChangeOne(const std::string& id,
                                   const std::function<Status(Alert&)>& change) {
  Alert out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return Status::NotFound("alert " + id + " not found");
    Alert& a = alerts_[it->second];
    CB_RETURN_IF_ERROR(change(a));
    out = a;
  }
  Notify({{out, out.history.back().what}});
  return out;
}

void AlertBook::ResolveLocked(Alert& a, const std::string& who, std::string what, TimeMs now) {
  a.state = AlertState::kResolved;
  a.resolved_by = who;
  a.cap_messages.push_back({NextIdentifierLocked(now), now, "Cancel", a.spec});
  Record(a, now, std::move(what));
  open_by_key_.erase(a.spec.key);
}

Result<Alert> AlertBook::Acknowledge(const std::string& id, const std::string& who, TimeMs now) {
  return ChangeOne(id, [&](Alert& a) {
    if (a.state != AlertState::kActive) {
      return Status::Conflict("alert " + id + " is " + std::string(AlertStateName(a.state)) +
                              ", not active");
    }
    a.state = AlertState::kAcknowledged;
    a.acknowledged_by = who;
    Record(a, now, "acknowledged by " + who);
    return Status::Ok();
  });
}

Result<Alert> AlertBook::Resolve(const std::string& id, const std::string& who, TimeMs now) {
  return ChangeOne(id, [&](Alert& a) {
    if (a.state == AlertState::kResolved) {
      return Status::Conflict("alert " + id + " is already resolved");
    }
    ResolveLocked(a, who, "resolved by " + who, now);
    return Status::Ok();
  });
}

std::optional<Alert> AlertBook::ResolveKey(const std::string& key, TimeMs now) {
  Alert out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto open = open_by_key_.find(key);
    if (open == open_by_key_.end()) return std::nullopt;
    Alert& a = alerts_[open->second];
    ResolveLocked(a, "auto", "resolved (auto: the condition cleared)", now);
    out = a;
  }
  Notify({{out, out.history.back().what}});
  return out;
}

std::vector<Alert> AlertBook::EscalateDue(TimeMs now) {
  std::vector<std::pair<Alert, std::string>> changes;
  std::vector<Alert> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, index] : open_by_key_) {
      Alert& a = alerts_[index];
      if (a.state != AlertState::kActive || now < a.ack_deadline) continue;
      if (a.escalation_step + 1 >= static_cast<int>(options_.escalation.size())) {
        a.ack_deadline = now + options_.ack_deadline_ms;  // top of the chain: remind again
        continue;
      }
      ++a.escalation_step;
      a.ack_deadline = now + options_.ack_deadline_ms;
      const EscalationStep& step = options_.escalation[static_cast<size_t>(a.escalation_step)];
      Record(a, now, "escalated to " + step.role.en + " by " + step.channel);
      changes.emplace_back(a, a.history.back().what);
      out.push_back(a);
    }
  }
  Notify(changes);
  return out;
}

std::optional<Alert> AlertBook::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return alerts_[it->second];
}

std::vector<Alert> AlertBook::List(bool open_only) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Alert> out;
  for (const Alert& a : alerts_) {
    if (!open_only || a.state != AlertState::kResolved) out.push_back(a);
  }
  return out;
}

void AlertBook::AddListener(AlertListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(l);
}

void AlertBook::Notify(const std::vector<std::pair<Alert, std::string>>& changes) {
  if (changes.empty()) return;
  std::vector<AlertListener*> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners = listeners_;
  }
  for (const auto& [alert, what] : changes) {
    for (AlertListener* l : listeners) l->OnAlert(alert, what);
  }
}

std::string RenderCap(const Alert& a, const AlertOptions& o, size_t index) {
  if (a.cap_messages.empty()) return {};
  if (index >= a.cap_messages.size()) index = a.cap_messages.size() - 1;
  const Alert::CapMessage& m = a.cap_messages[index];
  const bool beijing = !o.area_code.empty();
  const std::string sender = Sender(o);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n";
  Element(&x, "  ", "identifier", m.identifier);
  Element(&x, "  ", "sender", sender);
  Element(&x, "  ", "sent", CapTime(m.sent, beijing));
  Element(&x, "  ", "status", "Actual");
  Element(&x, "  ", "msgType", m.msg_type);
  Element(&x, "  ", "scope", "Public");
  if (index > 0) {
    std::string refs;
    for (size_t i = 0; i < index; ++i) {
      const Alert::CapMessage& r = a.cap_messages[i];
      refs += (refs.empty() ? "" : " ") + sender + "," + r.identifier + "," + CapTime(r.sent, beijing);
    }
    Element(&x, "  ", "references", refs);
  }
  const AlertSpec& s = m.spec;
  const bool cancel = m.msg_type == "Cancel";
  struct Lang {
    const char* code;
    const std::string& headline;
    const std::string& description;
    const std::string& instruction;
    const std::string& area;
  } langs[] = {
      {"zh-CN", s.headline.zh_cn, s.description.zh_cn, s.instruction.zh_cn, s.area_desc.zh_cn},
      {"en", s.headline.en, s.description.en, s.instruction.en, s.area_desc.en},
  };
  for (const Lang& l : langs) {
    x += "  <info>\n";
    Element(&x, "    ", "language", l.code);
    Element(&x, "    ", "category", CapCategory(s.category));
    Element(&x, "    ", "event", s.event.empty() ? s.category : s.event);
    Element(&x, "    ", "urgency", cancel ? "Past" : ClampLevel(s.level) <= 2 ? "Immediate" : "Expected");
    Element(&x, "    ", "severity", CapSeverity(s.level));
    Element(&x, "    ", "certainty", "Observed");
    Element(&x, "    ", "senderName", o.sender_name);
    if (!l.headline.empty()) Element(&x, "    ", "headline", l.headline);
    if (!l.description.empty()) Element(&x, "    ", "description", l.description);
    if (!l.instruction.empty() && !cancel) Element(&x, "    ", "instruction", l.instruction);
    x += "    <parameter>\n";
    Element(&x, "      ", "valueName", "level");
    Element(&x, "      ", "value", std::string(LevelName(s.level)) + " " + std::string(LevelColor(s.level)));
    x += "    </parameter>\n";
    if (!l.area.empty() || s.area) {
      x += "    <area>\n";
      Element(&x, "      ", "areaDesc", l.area.empty() ? s.zone_id : l.area);
      if (s.area) {
        for (const geo::PolygonRings& poly : s.area->parts) {
          if (poly.empty() || poly[0].size() < 4) continue;
          std::string coords;
          for (const geo::LonLat& p : poly[0]) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%.6f,%.6f", coords.empty() ? "" : " ", p.lat, p.lon);
            coords += buf;
          }
          Element(&x, "      ", "polygon", coords);
        }
      }
      x += "    </area>\n";
    }
    x += "  </info>\n";
  }
  x += "</alert>\n";
  return x;
}

}  // namespace cb::alerts
