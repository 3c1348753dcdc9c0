#include "app/case_wiring.h"

#include <spdlog/spdlog.h>

namespace cb::app {

std::optional<cases::NewCase> AlertCaseOpener::ReportFor(const alerts::Alert& alert,
                                                         const cases::Catalog& catalog) {
  const alerts::AlertSpec& s = alert.spec;
  if (s.case_category.empty()) return std::nullopt;
  cases::NewCase n;
  n.source = cases::CaseSource::kSensor;
  n.category = s.case_category;
  n.title = s.headline.zh_cn;
  n.description = s.description.zh_cn;
  if (!s.description.en.empty() && s.description.en != s.description.zh_cn) {
    n.description += "\n" + s.description.en;
  }
  if (s.location) {
    n.lon = s.location->lon;
    n.lat = s.location->lat;
  } else if (s.area) {
    n.lon = s.area->FirstPoint().lon;
    n.lat = s.area->FirstPoint().lat;
  }
  n.zone_id = s.zone_id;
  n.address = s.area_desc.zh_cn;
  n.alert_id = alert.id;
  n.actor = "alert:" + alert.id;
  n.accept = true;
  // A sensor-driven inspection is one per alert: not folded into a citizen's report nearby.
  n.link_duplicates = false;
  for (const std::string& d : s.departments) {
    if (catalog.FindDepartment(d) != nullptr) {
      n.department = d;
      break;
    }
  }
  if (n.department.empty()) {
    if (const cases::Category* c = catalog.FindCategory(n.category)) n.department = c->department;
  }
  return n;
}

void AlertCaseOpener::OnAlert(const alerts::Alert& alert, const std::string& what) {
  if (what.rfind("raised", 0) != 0) return;
  std::optional<cases::NewCase> report = ReportFor(alert, book_->catalog());
  if (!report) return;
  book_->CreateAsync(std::move(*report), clock_->Now(), [this, id = alert.id](Result<cases::Case> c) {
    if (!c.ok()) {
      spdlog::warn("alert {}: case not opened: {}", id, c.status().ToString());
      return;
    }
    opened_.fetch_add(1);
    spdlog::info("alert {}: case {} opened for {}", id, c->id, c->department);
  });
}

}  // namespace cb::app
