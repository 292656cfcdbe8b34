package kernelfarm.coordinator.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Whether the dashboard slows the farm: the control-plane benchmark's campaign (1,000 branches in flight by
 * default, a fake LLM and a fake worker) run in blocks of four in one process after two unmeasured runs: alone (the
 * baseline), with campaign pages open, open again, alone again, so neither side gains from running later. With pages
 * open, each viewer holds the page's Server-Sent Events stream, and one client times what the page asks for (the
 * campaign and its problems) twice a second. Prints each run's rounds per second, the ratio of the medians (target:
 * at least 0.90) with each side's range, and the campaign page's response times (target: under 200 ms). On a small
 * shared host one run differs from the next by tens of percent: the range says whether the ratio is signal.
 */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
    description = "Rounds/s of the control-plane benchmark with and without open dashboard pages, and the campaign "
        + "page's response time.")
final class DashboardBench implements Callable<Integer> {
  @Option(names = "--problems", defaultValue = "10", description = "problems (default: ${DEFAULT-VALUE})")
  int problems;

  @Option(names = "--branches", defaultValue = "100", description = "branches per problem (default: ${DEFAULT-VALUE})")
  int branches;

  @Option(names = "--rounds", defaultValue = "5", description = "rounds per branch (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--viewers", defaultValue = "5", description = "open campaign pages (default: ${DEFAULT-VALUE})")
  int viewers;

  @Option(names = "--blocks", defaultValue = "2",
      description = "blocks of four runs (alone, open, open, alone) (default: ${DEFAULT-VALUE})")
  int blocks;

  private static final double TARGET_RATIO = 0.90;
  private static final double TARGET_PAGE_MILLIS = 200;
  /** How often the timing client asks, as a page would on a slow refresh; the SSE streams tick on their own. */
  private static final Duration SAMPLE_EVERY = Duration.ofMillis(500);

  @Override
  public Integer call() throws Exception {
    if (viewers < 1) {
      throw new IllegalArgumentException("--viewers: must be at least 1, got " + viewers);
    }
    if (blocks < 1) {
      throw new IllegalArgumentException("--blocks: must be at least 1, got " + blocks);
    }
    ControlPlaneBench plane = CommandLine.populateCommand(new ControlPlaneBench(), "--problems",
        Integer.toString(problems), "--branches", Integer.toString(branches), "--rounds", Integer.toString(rounds));
    List<Double> pageMillis = Collections.synchronizedList(new ArrayList<>());
    AtomicLong snapshots = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    try (ControlPlaneBench.Fixture fixture = plane.fixture()) {
      // The first runs in a JVM pay for JIT compilation, of the search and of the API's routes: on 2 cores a
      // first full campaign ran at a tenth of the rate of the fourth, and a one-round warm-up left the next runs
      // climbing still. Two full campaigns, one of them watched, pay for it; neither is measured.
      for (boolean open : new boolean[] {true, false}) {
        System.err.println("warm-up: the campaign " + (open ? "with the pages open" : "alone") + ", not measured");
        ControlPlaneBench.Run run = plane.controlPlane(fixture, open ? (api, campaignId) ->
            viewers(api, campaignId, new ArrayList<>(), new AtomicLong(), new AtomicLong()) : null);
        System.out.printf("  warm-up %s: %.0f rounds/s%n", open ? "with pages open" : "alone", run.roundsPerSecond());
      }
      // Alone, watched, watched, alone: a later run in a JVM runs faster (JIT, warmed caches, a grown heap), so
      // running the baseline first would credit the dashboard with that; in this order each side gets as much of it.
      List<ControlPlaneBench.Run> alone = new ArrayList<>();
      List<ControlPlaneBench.Run> watched = new ArrayList<>();
      boolean[] order = new boolean[4 * blocks];
      for (int i = 0; i < order.length; i++) {
        order[i] = i % 4 == 1 || i % 4 == 2;
      }
      for (boolean open : order) {
        System.err.println(open ? "the control-plane campaign with " + viewers + " campaign pages open"
            : "the control-plane campaign with no dashboard open");
        ControlPlaneBench.Run run = plane.controlPlane(fixture, open
            ? (api, campaignId) -> viewers(api, campaignId, pageMillis, snapshots, failures) : null);
        (open ? watched : alone).add(run);
        System.out.printf("  %s: %.0f rounds/s (%.0f after the first wave)%n",
            open ? "with " + viewers + " pages open" : "without the dashboard", run.roundsPerSecond(),
            run.steadyRoundsPerSecond());
      }
      double aloneRate = median(alone, ControlPlaneBench.Run::roundsPerSecond);
      double watchedRate = median(watched, ControlPlaneBench.Run::roundsPerSecond);
      double ratio = watchedRate / aloneRate;
      System.out.printf("rounds/s without the dashboard: median %.0f (runs %s); with %d pages open: median %.0f (runs "
          + "%s); ratio %.2f (target at least %.2f; %d runs each, in blocks of alone, open, open, alone)%n", aloneRate,
          range(alone), viewers, watchedRate, range(watched), ratio, TARGET_RATIO, alone.size());
      List<Double> sorted;
      synchronized (pageMillis) {
        sorted = new ArrayList<>(pageMillis);
      }
      Collections.sort(sorted);
      if (sorted.isEmpty()) {
        System.out.println("campaign page: no request answered");
        return 1;
      }
      System.out.printf("campaign page (the campaign and its problems) during the run: median %.0f ms, p95 %.0f ms, "
              + "max %.0f ms over %d requests (target under %.0f ms); %d live snapshots pushed; %d failed requests%n",
          quantile(sorted, 0.5), quantile(sorted, 0.95), sorted.get(sorted.size() - 1), sorted.size(),
          TARGET_PAGE_MILLIS, snapshots.get(), failures.get());
      System.out.printf("%d cores; %d branches in flight%n", Runtime.getRuntime().availableProcessors(),
          watched.get(0).branches());
      boolean complete = java.util.stream.Stream.concat(alone.stream(), watched.stream())
          .allMatch(run -> run.judged() == run.planned());
      return complete && failures.get() == 0 ? 0 : 1;
    }
  }

  private static double median(List<ControlPlaneBench.Run> runs,
      java.util.function.ToDoubleFunction<ControlPlaneBench.Run> value) {
    double[] sorted = runs.stream().mapToDouble(value).sorted().toArray();
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  private static String range(List<ControlPlaneBench.Run> runs) {
    return runs.stream().map(r -> String.format("%.0f", r.roundsPerSecond()))
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /** Opens the viewers' event streams and starts the timing client; closing stops both. */
  private AutoCloseable viewers(URI api, String campaignId, List<Double> pageMillis, AtomicLong snapshots,
      AtomicLong failures) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    AtomicBoolean open = new AtomicBoolean(true);
    List<CompletableFuture<?>> streams = new ArrayList<>();
    for (int i = 0; i < viewers; i++) {
      streams.add(http.sendAsync(HttpRequest.newBuilder(api.resolve("/api/v1/campaigns/" + campaignId + "/events"))
              .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines())
          .thenAcceptAsync(response -> {
            // Closing the lines ends the request, as a closed tab does.
            try (Stream<String> lines = response.body()) {
              lines.takeWhile(line -> open.get())
                  .filter(line -> line.equals("event:snapshot") || line.equals("event: snapshot"))
                  .forEach(line -> snapshots.incrementAndGet());
            }
          }));
    }
    HttpRequest campaign = HttpRequest.newBuilder(api.resolve("/api/v1/campaigns/" + campaignId)).build();
    HttpRequest problems = HttpRequest.newBuilder(api.resolve("/api/v1/campaigns/" + campaignId
        + "/problems?limit=500")).build();
    Thread timer = new Thread(() -> {
      while (open.get()) {
        long started = System.nanoTime();
        try {
          // Both at once, as the page's snapshot needs both; the page has answered when the slower one has.
          var a = http.sendAsync(campaign, HttpResponse.BodyHandlers.ofByteArray());
          var b = http.sendAsync(problems, HttpResponse.BodyHandlers.ofByteArray());
          int status = Math.max(a.join().statusCode(), b.join().statusCode());
          if (status == 200) {
            pageMillis.add((System.nanoTime() - started) / 1e6);
          } else if (status != 404) { // 404: not projected yet, in its first second
            failures.incrementAndGet();
          }
          Thread.sleep(SAMPLE_EVERY.toMillis());
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          failures.incrementAndGet();
        }
      }
    }, "dashboard-bench-timer");
    timer.setDaemon(true);
    timer.start();
    return () -> {
      open.set(false);
      timer.interrupt();
      streams.forEach(s -> s.cancel(true));
    };
  }

  private static double quantile(List<Double> sorted, double q) {
    return sorted.get((int) Math.min(sorted.size() - 1, Math.floor(q * sorted.size())));
  }
}
