#include "app/case_wiring.h"

#include <spdlog/spdlog.h>

namespace cb::app {
namespace {

// The first `max` code points of UTF-8 text (all of it when it is no longer).
std::string_view CodePointPrefix(std::string_view s, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == max) return s.substr(0, i);
  }
  return s;
}

// A case has one title. A sensor case takes its alert's headline in both languages
// (Chinese first: the centre's working language), so that it reads in either UI; when
// both do not fit the limit, the Chinese alone (cut at the limit if it must be).
std::string CaseTitle(const alerts::Texts& headline) {
  const std::string& zh = headline.zh_cn.empty() ? headline.en : headline.zh_cn;
  if (!headline.en.empty() && headline.en != zh) {
    const std::string both = zh + " / " + headline.en;
    if (CodePointPrefix(both, cases::Case::kMaxTitle).size() == both.size()) return both;
  }
  return std::string(CodePointPrefix(zh, cases::Case::kMaxTitle));
}

}  // namespace

std::optional<cases::NewCase> AlertCaseOpener::ReportFor(const alerts::Alert& alert,
                                                         const cases::Catalog& catalog) {
  const alerts::AlertSpec& s = alert.spec;
  if (s.case_category.empty()) return std::nullopt;
  cases::NewCase n;
  n.source = cases::CaseSource::kSensor;
  n.category = s.case_category;
  n.title = CaseTitle(s.headline);
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
