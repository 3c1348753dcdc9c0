#include "app/alerting.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace cb::app {
namespace {

// The zone's name in one language: a text, or a languageMap entry (else its id).
std::string NameIn(const stream::Zone* zone, const char* lang, const std::string& fallback) {
  if (zone == nullptr) return fallback;
  if (zone->name.is_string()) return zone->name.as_string();
  if (zone->name.is_object()) {
    if (const JsonValue* v = zone->name.Find(lang); v != nullptr && v->is_string()) {
      return v->as_string();
    }
  }
  return fallback;
}

std::string Count(double v) { return std::to_string(static_cast<int64_t>(std::llround(v))); }

}  // namespace

alerts::AlertSpec TierAlertBridge::SpecFor(const stream::LevelChange& c, const stream::Zone* zone,
                                           const stream::TierPlan* plan) {
  alerts::AlertSpec s;
  s.key = "tier:" + c.zone_id;
  s.category = "crowd";
  s.level = std::clamp(c.to, 1, 4);
  s.zone_id = c.zone_id;
  const std::string zh = NameIn(zone, "zh-CN", c.zone_id), en = NameIn(zone, "en", c.zone_id);
  const std::string level_zh = c.level != nullptr ? c.level->name.zh_cn : "";
  const std::string level_en = c.level != nullptr ? c.level->name.en : "";
  s.event = "Crowd " + level_en;
  s.headline = {zh + "：" + level_zh, en + ": " + level_en};
  const std::string plan_zh = plan != nullptr ? plan->name().zh_cn : c.plan_id;
  const std::string plan_en = plan != nullptr ? plan->name().en : c.plan_id;
  s.description = {"区域内约 " + Count(c.value) + " 人（" + plan_zh + "）。",
                   "About " + Count(c.value) + " people in the zone (" + plan_en + ")."};
  if (c.level != nullptr) {
    s.instruction = {c.level->actions.zh_cn, c.level->actions.en};
    s.departments = c.level->departments;
  }
  s.area_desc = {zh, en};
  if (zone != nullptr) s.area = zone->area;
  return s;
}

void TierAlertBridge::OnLevelChange(const stream::LevelChange& c) {
  if (c.to == 0) {
    book_->ResolveKey("tier:" + c.zone_id, c.at);
    return;
  }
  std::optional<stream::ZoneStatus> zone = engine_->ZoneState(c.zone_id);
  auto raised = book_->Raise(SpecFor(c, zone ? &zone->zone : nullptr, engine_->Plan(c.plan_id)), c.at);
  if (!raised.ok()) spdlog::warn("tier alert for {} not raised: {}", c.zone_id, raised.status().ToString());
}

alerts::AlertSpec DeviceAlertBridge::SpecFor(const stream::DeviceHealthChange& c) {
  alerts::AlertSpec s;
  s.key = "device:" + c.device_id;
  s.category = "device";
  s.event = "Device silent";
  s.level = 4;
  const std::string minutes = std::to_string((c.at - c.last_reading) / 60000);
  const std::string every = std::to_string(c.interval_ms / 1000);
  s.headline = {"设备无数据：" + c.device_id, "Device silent: " + c.device_id};
  s.description = {"已 " + minutes + " 分钟没有收到读数（通常每 " + every + " 秒一次）。",
                   "No reading for " + minutes + " min (usually every " + every + " s)."};
  s.instruction = {"检查设备供电与网络；修复前其读数不计入区域指数。",
                   "Check the device's power and network; until then its readings are left out "
                   "of the zone figures."};
  s.departments = {"运维 Operations"};
  s.area_desc = {c.device_id, c.device_id};
  return s;
}

void DeviceAlertBridge::OnDeviceHealth(const stream::DeviceHealthChange& c) {
  if (!c.silent) {
    book_->ResolveKey("device:" + c.device_id, c.at);
    return;
  }
  auto raised = book_->Raise(SpecFor(c), c.at);
  if (!raised.ok()) {
    spdlog::warn("device alert for {} not raised: {}", c.device_id, raised.status().ToString());
  }
}

}  // namespace cb::app
