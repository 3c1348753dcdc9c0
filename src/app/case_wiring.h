// Case wiring: alerts that ask for a case open one (a sensor-driven inspection case,
// dispatched to its department at once), and the case SLA timers run on a clock. Lives in
// app/ because it joins modules (alerts → cases) that know nothing of each other.
// Thread-safety: AlertCaseOpener is safe from any thread (it is called on the alert book's
// listeners' threads); CaseTimerClock runs its own thread between Start and Stop.
#pragma once

#include <atomic>

#include "alerts/alerts.h"
#include "cases/case_book.h"
#include "core/periodic_thread.h"
#include "core/time.h"

namespace cb::app {

// Opens a case when an alert whose spec names a case category is raised: source sensor,
// the alert's texts (the title is the headline in both languages), its location (the
// entity's, else the first point of its area) and zone, linked to the alert by id,
// accepted and dispatched to the first of the alert's departments that the catalog
// knows, else to the category's department.
class AlertCaseOpener final : public alerts::AlertListener {
 public:
  AlertCaseOpener(cases::CaseBook* book, const Clock* clock) : book_(book), clock_(clock) {}
  void OnAlert(const alerts::Alert& alert, const std::string& what) override;
  // The report a raised alert files (nullopt when it asks for no case).
  static std::optional<cases::NewCase> ReportFor(const alerts::Alert& alert,
                                                 const cases::Catalog& catalog);
  uint64_t opened() const { return opened_.load(); }

 private:
  cases::CaseBook* book_;
  const Clock* clock_;
  std::atomic<uint64_t> opened_{0};
};

// Fires the case book's due timers (SLA warnings, escalations, auto-close) every second.
class CaseTimerClock {
 public:
  CaseTimerClock(cases::CaseBook* book, const Clock* clock) : book_(book), clock_(clock) {}
  void Start() {
    thread_.Start(1000, [this] { book_->Tick(clock_->Now()); });
  }
  void Stop() { thread_.Stop(); }

 private:
  cases::CaseBook* book_;
  const Clock* clock_;
  PeriodicThread thread_;
};

}  // namespace cb::app
