// The metric registry: families declared once, series by labels, scrapes that record
// every counter and gauge series of a component, histograms with Prometheus buckets.
#include <gtest/gtest.h>

#include <cmath>

#include "telemetry/registry.h"

namespace gputwin::telemetry {
namespace {

TEST(Registry, ScrapeRecordsEverySeriesOfItsOwner) {
  Registry r;
  auto pending = r.Declare(
      "kueue",
      {"kueue_pending_workloads", "help", MetricType::kGauge, {"cluster_queue", "status"}, {}, ""});
  auto created = r.Declare(
      "karpenter",
      {"karpenter_nodes_created_total", "help", MetricType::kCounter, {"nodepool"}, {}, ""});
  r.Set(r.At(pending, {{"cluster_queue", "b"}, {"status", "active"}}), 3);
  r.Set(r.At(pending, {{"cluster_queue", "a"}, {"status", "active"}}), 1);
  r.Add(r.At(created, {{"nodepool", "gpu"}}), 1);
  r.Sample("kueue", Time{10});
  // Creation order for Kueue's series; Karpenter's counter is not scraped with Kueue.
  ASSERT_EQ(r.Recorded("kueue").size(), 2u);
  EXPECT_EQ(r.series(r.Recorded("kueue")[0]).labels.at("cluster_queue"), "b");
  EXPECT_TRUE(r.Recorded("karpenter").empty());
  r.Add(r.At(created, {{"nodepool", "gpu"}}), 2);
  r.Sample("karpenter", Time{20}, /*sorted=*/true);
  const auto& s = r.series(r.Recorded("karpenter")[0]);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].second, 3);
  // A later scrape samples every series again, even those not set since.
  r.Sample("kueue", Time{30});
  EXPECT_EQ(r.series(r.Recorded("kueue")[1]).samples.size(), 2u);
  EXPECT_EQ(r.series(r.Recorded("kueue")[1]).samples[1], (std::pair<Time, double>{Time{30}, 1}));
}

TEST(Registry, SortedScrapeOrdersNewSeriesByNameAndLabels) {
  Registry r;
  auto z = r.Declare("k", {"z_total", "", MetricType::kCounter, {"l"}, {}, ""});
  auto a = r.Declare("k", {"a_total", "", MetricType::kCounter, {"l"}, {}, ""});
  r.Add(r.At(z, {{"l", "1"}}), 1);
  r.Add(r.At(a, {{"l", "2"}}), 1);
  r.Add(r.At(a, {{"l", "1"}}), 1);
  r.Sample("k", Time{0}, true);
  std::vector<std::string> order;
  for (auto id : r.Recorded("k")) {
    order.push_back(r.family(r.series(id).family).desc.name + "/" + r.series(id).labels.at("l"));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a_total/1", "a_total/2", "z_total/1"}));
}

TEST(Registry, HistogramBucketsAreUpperBounds) {
  Registry r;
  auto h = r.Declare("k", {"wait_seconds", "", MetricType::kHistogram, {}, {1, 2.5, 5}, "seconds"});
  auto s = r.At(h, {});
  for (double v : {0.5, 1.0, 2.6, 9.0}) r.Observe(s, v);
  const auto& hist = r.series(s).histogram;
  // le=1 holds 0.5 and 1 (bounds are inclusive), le=5 holds 2.6, +Inf holds 9.
  EXPECT_EQ(hist.counts, (std::vector<uint64_t>{2, 0, 1, 1}));
  EXPECT_EQ(hist.count, 4u);
  EXPECT_DOUBLE_EQ(hist.sum, 13.1);
  EXPECT_EQ(r.Histograms("k"), (std::vector<Registry::SeriesId>{s}));
}

}  // namespace
}  // namespace gputwin::telemetry

namespace gputwin::telemetry {
namespace {

// A series that ends and comes back (an alert resolving and firing again) is sampled once
// per scrape, whether it came back before or after the scrape that dropped it.
TEST(RegistryRevive, OneSamplePerScrapeAfterComingBack) {
  Registry r;
  MetricDesc d;
  d.name = "g";
  r.Declare("x", d);
  const auto s = r.At(r.Find("g"), {});
  const Time t0{1767225600LL * 1'000'000'000};
  auto at = [&](int sec) { return t0 + Duration::Seconds(sec); };
  r.Set(s, 1);
  r.Sample("x", at(0));
  r.Retire(s, at(10));
  r.Revive(s);  // before the next scrape
  r.Set(s, 2);
  r.Sample("x", at(30));
  r.Retire(s, at(40));
  r.Sample("x", at(60));  // drops it
  r.Revive(s);
  r.Set(s, 3);
  r.Sample("x", at(90));
  const auto& smp = r.series(s).samples;
  ASSERT_EQ(smp.size(), 5u);  // 0: 1, 10: NaN, 30: 2, 40: NaN, 90: 3
  EXPECT_EQ(smp[2].first, at(30));
  EXPECT_EQ(smp[2].second, 2);
  EXPECT_TRUE(std::isnan(smp[3].second));
  EXPECT_EQ(smp[4].first, at(90));
  EXPECT_EQ(smp[4].second, 3);
  EXPECT_EQ(r.Recorded("x").size(), 1u);
}

}  // namespace
}  // namespace gputwin::telemetry
