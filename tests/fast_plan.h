// A tier plan for tests, decided every second and leaving a level after one cycle below
// it: level 3 from 100 people, 2 from 500, 1 from 1,000. Shared by the stream, api and
// integration tests.
#pragma once

namespace cb::testing {

inline constexpr const char* kFastPlan = R"({"id":"fast","name":{"zh-CN":"快速","en":"Fast"},"measure":"peopleCount",
  "cycleSeconds":1,"exitCycles":1,"exitMarginRatio":0.1,"levels":[
  {"level":3,"threshold":100,"name":{"zh-CN":"三级","en":"Level 3"},"actions":{"zh-CN":"巡逻","en":"Patrol"},"departments":["police"]},
  {"level":2,"threshold":500,"name":{"zh-CN":"二级","en":"Level 2"},"actions":{"zh-CN":"护栏","en":"Barriers"},"departments":["police","transport"]},
  {"level":1,"threshold":1000,"name":{"zh-CN":"一级","en":"Level 1"},"actions":{"zh-CN":"隔离","en":"Isolation"},"departments":["police"]}]})";

}  // namespace cb::testing
