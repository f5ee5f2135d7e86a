#include "daemon/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <fstream>
#include <sstream>

#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point kNow = system_clock::time_point(seconds(1700000000));

std::shared_ptr<Snapshot> Snap(const std::string& name, bool ok,
                               system_clock::time_point data_time) {
  auto s = std::make_shared<Snapshot>();
  s->collector = name;
  s->success = ok;
  s->error = ok ? "" : "failed";
  s->duration_seconds = 0.25;
  s->interval = Millis(30000);
  s->finished = kNow - seconds(1);
  s->data_time = data_time;
  s->last_success = ok ? s->finished : system_clock::time_point(seconds(1699999000));
  auto f = Counter("mailhealth_" + name + "_things_total", "Things. Sampled every 30s.");
  AddSample(f, {{"kind", "a"}}, 3);
  AddSample(f, {{"kind", "b"}}, 0);
  s->families.push_back(std::move(f));
  return s;
}

std::string Render(const Exposition& e) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, e.CollectAt(kNow));
  return os.str();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Golden output: the exporter's own metrics first, then every fresh
// collector's families. Set UPDATE_GOLDEN=1 to rewrite the file.
TEST(ExpositionTest, Golden) {
  SnapshotStore store;
  ConfigState cfg;
  cfg.last_reload_successful = true;
  cfg.last_reload_success_seconds = 1699999999;
  store.Put(Snap("queue", true, kNow - seconds(1)));
  store.Put(Snap("log", false, kNow - seconds(31)));  // failed, data still fresh
  store.Put(Snap("dns", true, kNow - seconds(91)));   // older than 3 intervals
  Exposition e(&store, &cfg, "1.2.3", "abcdef");
  const std::string got = Render(e);
  const std::string path =
      MAILHEALTH_SOURCE_DIR "/tests/fixtures/golden/exposition.prom";
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << got;
  }
  EXPECT_EQ(got, ReadFile(path));
}

TEST(ExpositionTest, StaleDataIsDroppedAndMarkedFailed) {
  SnapshotStore store;
  ConfigState cfg;
  store.Put(Snap("dns", true, kNow - seconds(91)));
  Exposition e(&store, &cfg, "v", "r");
  const std::string got = Render(e);
  EXPECT_EQ(got.find("mailhealth_dns_things_total"), std::string::npos);
  EXPECT_NE(got.find("mailhealth_scrape_collector_success{collector=\"dns\"} 0"),
            std::string::npos);
}

TEST(ExpositionTest, DataWithinThreeIntervalsIsKept) {
  SnapshotStore store;
  ConfigState cfg;
  store.Put(Snap("dns", true, kNow - seconds(89)));
  Exposition e(&store, &cfg, "v", "r");
  EXPECT_NE(Render(e).find("mailhealth_dns_things_total{kind=\"a\"} 3"),
            std::string::npos);
}

TEST(ExpositionTest, ReloadFailureShows) {
  SnapshotStore store;
  ConfigState cfg;
  cfg.last_reload_successful = false;
  Exposition e(&store, &cfg, "v", "r");
  EXPECT_NE(Render(e).find("mailhealth_config_last_reload_successful 0"),
            std::string::npos);
}

// The body is serialised once per change of its inputs: the same snapshots,
// freshness and reload state give the same bytes without a new render.
TEST(ExpositionTest, RenderCachedRendersOncePerChange) {
  SnapshotStore store;
  ConfigState cfg;
  store.Put(Snap("queue", true, kNow - seconds(1)));
  Exposition e(&store, &cfg, "v", "r");
  auto a = e.RenderCached(false, kNow);
  auto b = e.RenderCached(false, kNow + seconds(5));
  EXPECT_EQ(e.renders(), 1u);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(*a, Render(e));  // the same bytes as an uncached render

  // A new run publishes a new snapshot: rendered again, new value shown.
  auto s = Snap("queue", true, kNow);
  AddSample(s->families[0], {{"kind", "c"}}, 7);
  store.Put(s);
  auto c = e.RenderCached(false, kNow);
  EXPECT_EQ(e.renders(), 2u);
  EXPECT_NE(c->find("mailhealth_queue_things_total{kind=\"c\"} 7"),
            std::string::npos);

  // The reload state changes the body.
  cfg.last_reload_successful = false;
  EXPECT_NE(e.RenderCached(false, kNow)->find(
                "mailhealth_config_last_reload_successful 0"),
            std::string::npos);
  EXPECT_EQ(e.renders(), 3u);
}

// Time alone changes the body when data turns stale (3 intervals): the
// cache must not serve stale data as fresh.
TEST(ExpositionTest, RenderCachedDropsDataThatTurnsStale) {
  SnapshotStore store;
  ConfigState cfg;
  store.Put(Snap("dns", true, kNow - seconds(80)));
  Exposition e(&store, &cfg, "v", "r");
  EXPECT_NE(e.RenderCached(false, kNow)->find("mailhealth_dns_things_total"),
            std::string::npos);
  auto later = e.RenderCached(false, kNow + seconds(20));  // 100 s > 90 s
  EXPECT_EQ(later->find("mailhealth_dns_things_total"), std::string::npos);
  EXPECT_NE(later->find("mailhealth_scrape_collector_success{collector=\"dns\"} 0"),
            std::string::npos);
  EXPECT_EQ(e.renders(), 2u);
}

TEST(ExpositionTest, RenderCachedGzipIsTheSameBody) {
  SnapshotStore store;
  ConfigState cfg;
  store.Put(Snap("queue", true, kNow - seconds(1)));
  Exposition e(&store, &cfg, "v", "r");
  auto text = e.RenderCached(false, kNow);
  auto gz = e.RenderCached(true, kNow);
  EXPECT_EQ(gz.get(), e.RenderCached(true, kNow).get());
  ASSERT_GT(gz->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(text->size() + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz->data()));
  zs.avail_in = static_cast<uInt>(gz->size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, *text);
  EXPECT_EQ(e.renders(), 1u);
}

TEST(ExpositionTest, ContentTypeHasVersion) {
  EXPECT_STREQ(kTextContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace mailhealth
