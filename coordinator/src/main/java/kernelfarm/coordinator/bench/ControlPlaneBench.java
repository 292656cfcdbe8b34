package kernelfarm.coordinator.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.cli.ProgressBar;
import kernelfarm.coordinator.llm.ChatMessage;
import kernelfarm.coordinator.llm.ChatRequest;
import kernelfarm.coordinator.llm.LatencyLlmServer;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.BenchWorker;
import org.apache.pekko.actor.typed.Props;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The control plane alone: one coordinator node (Campaign and ProblemCoordinator entities persisted to an H2 file,
 * Branches, the Dispatcher singleton, the real LLM clients over HTTP) driven by a fake LLM on loopback and a fake
 * worker that answers every lease after a fixed verdict latency. Two modes:
 *
 * <ul>
 *   <li><b>A fast LLM</b> (the default): answers at once, so the control plane itself is the bottleneck. Prints the
 *       rounds per second against the target (1,000 branches, 500 rounds/s on one 2-core node). The baseline,
 *       measured first in the same run, is a bare loop with the same branches making the same LLM calls through
 *       the same client and waiting the same verdict latency, with no actors, persistence or dispatch.
 *   <li><b>A reasoning model</b> ({@code --llm-latency 30s}): each answer comes after a latency drawn from a
 *       log-normal distribution around that median with a long tail ({@code --llm-tail}), so every branch has a
 *       call open most of the time: 1,000 branches hold about 1,000 calls open at once. The campaign runs for
 *       {@code --duration} with rounds to spare. What the latency allows is exact for a closed loop: N branches
 *       each doing one call and one verdict per cycle complete N / (mean latency + verdict latency) rounds per
 *       second once past the first wave; the benchmark prints that, the rate it measured over the same window, the
 *       ratio, the errors and the memory.
 * </ul>
 */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
    description = "Branches in flight and rounds/s of the coordinator with a fake LLM and a fake worker.")
final class ControlPlaneBench implements Callable<Integer> {
  @Option(names = "--problems", defaultValue = "10", description = "problems (default: ${DEFAULT-VALUE})")
  int problems;

  @Option(names = "--branches", defaultValue = "100", description = "branches per problem (default: ${DEFAULT-VALUE})")
  int branches;

  @Option(names = "--rounds", defaultValue = "5", description = "rounds per branch (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--verdict-latency", defaultValue = "PT0.05S",
      description = "fake worker's time per candidate (default: ${DEFAULT-VALUE})")
  Duration verdictLatency;

  @Option(names = "--worker-slots", defaultValue = "2000",
      description = "leases the fake worker holds at once (default: ${DEFAULT-VALUE})")
  int workerSlots;

  @Option(names = "--llm-latency", defaultValue = "0s", converter = DurationConverter.class,
      description = "median time the fake LLM takes per answer, e.g. 30s; 0 answers at once (default: "
          + "${DEFAULT-VALUE})")
  Duration llmLatency;

  @Option(names = "--llm-tail", defaultValue = "0.5", description = "sigma of the log-normal latency: 0.5 puts one "
      + "answer in twenty past 2.3x the median (default: ${DEFAULT-VALUE})")
  double llmTail;

  @Option(names = "--llm-endpoints", defaultValue = "1", description = "fake LLM endpoints the campaign spreads "
      + "its calls over, each allowed an equal share of the branches (default: ${DEFAULT-VALUE})")
  int llmEndpoints;

  @Option(names = "--duration", converter = DurationConverter.class, description = "with --llm-latency: how long "
      + "the campaign runs (default: 10 times the median latency, at least 1 minute)")
  Duration duration;

  /** Reads {@code 30s}, {@code 500ms}, {@code 2m} as well as ISO-8601 ({@code PT30S}). */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.strip();
      try {
        if (v.toUpperCase(Locale.ROOT).startsWith("P")) {
          return Duration.parse(v);
        }
        return Duration.ofNanos(ConfigFactory.parseString("d = " + v).getDuration("d").toNanos());
      } catch (RuntimeException e) {
        throw new TypeConversionException("\"" + value + "\" is no duration; write e.g. 30s, "
            + "500ms, 2m or PT30S");
      }
    }
  }

  private static final double TARGET_ROUNDS_PER_SECOND = 500;
  private static final int TARGET_BRANCHES = 1000;

  @Override
  public Integer call() throws Exception {
    try (Fixture fixture = fixture()) {
      double bare = 0;
      if (!fixture.reasoning()) {
        System.err.printf("baseline: a bare loop of %d branches x %d rounds through the same LLM client%n",
            problems * branches, rounds);
        bare = bareLoop(new LlmClient(fixture.endpoints().get(0), fixture.http(), fixture.json(), Clock.systemUTC()),
            problems * branches, rounds);
      }
      Run run = controlPlane(fixture, null);
      System.out.printf("branches: %d; peak LLM calls open at the fake server(s): %d (peak in flight per client: "
          + "%s)%n", run.branches(), run.peakOpen(), run.clients());
      long errors;
      if (fixture.reasoning()) {
        double cycle = run.meanLatency() + verdictLatency.toNanos() / 1e9;
        double allowed = run.branches() / cycle;
        System.out.printf("rounds: %d judged in %.1f s; LLM latency drawn: mean %.2f s over %d calls (median %.1f s, "
            + "sigma %.2f)%n", run.judged(), run.wallSeconds(), run.meanLatency(), run.llmCalls(),
            llmLatency.toMillis() / 1000.0, llmTail);
        System.out.printf("rounds/s from the first full wave (%.1f s) to the first deadline (%.1f s): %.2f; the "
            + "latency allows %d / (%.2f s + %.3f s) = %.2f: ratio %.3f (target >= 0.90)%n", run.steadyFrom(),
            run.windowEnd(), run.windowRoundsPerSecond(), run.branches(), run.meanLatency(),
            verdictLatency.toNanos() / 1e9, allowed, run.windowRoundsPerSecond() / allowed);
        errors = run.llmErrors();
      } else {
        System.out.printf("rounds: %d judged of %d in %.1f s: %.0f rounds/s overall, %.0f rounds/s after the first "
            + "wave (target %.0f: %.2fx)%n", run.judged(), run.planned(), run.wallSeconds(), run.roundsPerSecond(),
            run.steadyRoundsPerSecond(), TARGET_ROUNDS_PER_SECOND, run.steadyRoundsPerSecond()
                / TARGET_ROUNDS_PER_SECOND);
        System.out.printf("baseline, a bare client loop (no actors, persistence or dispatch): %.0f rounds/s; the "
            + "control plane keeps %.2fx of it%n", bare, run.roundsPerSecond() / bare);
        errors = run.llmErrors() + run.planned() - run.judged();
      }
      System.out.printf("errors: %d (LLM calls failed or retried: %d)%s%n", errors, run.llmErrors(),
          fixture.reasoning() ? "" : "; rounds missing: " + (run.planned() - run.judged()));
      MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
      System.gc();
      System.out.printf("memory: heap peak %d MiB, %d MiB after GC at the end (max %d MiB); threads peak %d%n",
          run.peakHeap() >> 20, memory.getHeapMemoryUsage().getUsed() >> 20, memory.getHeapMemoryUsage().getMax() >> 20,
          ManagementFactory.getThreadMXBean().getPeakThreadCount());
      return errors == 0 ? 0 : 1;
    }
  }

  /** The fake LLMs and the client setup that every run of this benchmark (and the dashboard's) shares. */
  record Fixture(List<LatencyLlmServer> llms, ObjectMapper json, HttpClient http, List<LlmEndpoint> endpoints,
      boolean reasoning) implements AutoCloseable {
    @Override
    public void close() {
      llms.forEach(LatencyLlmServer::close);
    }
  }

  Fixture fixture() {
    if (llmEndpoints < 1 || problems < 1 || branches < 1 || rounds < 1) {
      throw new IllegalArgumentException("--llm-endpoints, --problems, --branches and --rounds must be at least 1");
    }
    ObjectMapper json = new ObjectMapper();
    boolean reasoning = !llmLatency.isZero();
    List<LatencyLlmServer> llms = new ArrayList<>();
    for (int i = 0; i < llmEndpoints; i++) {
      llms.add(LatencyLlmServer.start(json, llmLatency, reasoning ? llmTail : 0, 42 + i));
    }
    int total = problems * branches;
    List<LlmEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < llms.size(); i++) {
      // Each endpoint may hold its share of the branches' calls; a long tail must not time a call out; and no
      // retries, so every failed call shows as an error instead of a delay.
      endpoints.add(new LlmEndpoint("bench-" + (i + 1), llms.get(i).baseUrl(), "fake", null,
          (total + llmEndpoints - 1) / llmEndpoints, Duration.ofMinutes(1).plus(llmLatency.multipliedBy(20)), 0, 0,
          0));
    }
    HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(4)).build();
    return new Fixture(llms, json, http, endpoints, reasoning);
  }

  /**
   * What one run of the control plane measured. The window (from the first full wave to the first problem's
   * deadline) is where every branch runs: the reasoning mode's rate is measured over it.
   */
  record Run(int branches, long planned, long judged, double wallSeconds, double roundsPerSecond,
      double steadyRoundsPerSecond, double steadyFrom, double windowEnd, double windowRoundsPerSecond,
      long llmCalls, long llmErrors, double meanLatency, int peakOpen, List<String> clients, long peakHeap) {}

  /** Runs beside the campaign: started once it is submitted, closed when it ends (the dashboard's viewers). */
  interface Beside {
    AutoCloseable start(URI api, String campaignId) throws Exception;
  }

  /** One campaign on a fresh coordinator node (its own H2 file); {@code beside} may be null. */
  Run controlPlane(Fixture fixture, Beside beside) throws Exception {
    boolean reasoning = fixture.reasoning();
    List<LatencyLlmServer> llms = fixture.llms();
    long callsBefore = llms.stream().mapToLong(LatencyLlmServer::calls).sum();
    Path store = Files.createTempDirectory("kfarm-control-plane");
    int total = problems * branches;
    var overrides = ConfigFactory.parseMap(Map.of(
        "pekko.cluster.roles", List.of("coordinator"),
        "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm"),
        // The API and read side run as on any coordinator, on a free port with the token kept beside the store.
        "kernelfarm.coordinator.http.port", 0,
        "kernelfarm.coordinator.http.token-file", store.resolve("api-token").toString(),
        "kernelfarm.coordinator.prompts", promptsFolder()));
    Duration budget = reasoning ? (duration != null ? duration
        : max(Duration.ofMinutes(1), llmLatency.multipliedBy(10))) : Duration.ofHours(1);
    // With a slow LLM the campaign runs on time, not rounds, so every branch stays busy to the end.
    int planned = reasoning ? CampaignSpec.MAX_ROUNDS : rounds;
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), fixture.http(),
        fixture.endpoints()), true)) {
      AtomicLong verdicts = new AtomicLong();
      node.system().systemActorOf(BenchWorker.create(node.dispatcher(), verdictLatency, workerSlots, "fake",
          verdicts::incrementAndGet), "fake-worker", Props.empty());
      List<Problem> set = generatedProblems(problems);
      CampaignSpec spec = spec(branches, planned, budget, fixture.endpoints());
      String id = "control-plane-" + System.currentTimeMillis();
      System.err.printf("control-plane: %d problems x %d branches = %d branches, %s; verdict latency %d ms; LLM %s "
          + "over %d endpoint(s); %d cores%s%n", problems, branches, total,
          reasoning ? "for " + budget.toSeconds() + " s" : rounds + " rounds each", verdictLatency.toMillis(),
          reasoning ? "median " + llmLatency.toMillis() / 1000.0 + " s, log-normal sigma " + llmTail : "at once",
          llmEndpoints, Runtime.getRuntime().availableProcessors(), beside == null ? "" : "; with the dashboard open");
      long started = System.nanoTime();
      node.submit(id, spec, set).toCompletableFuture().get(60, TimeUnit.SECONDS);
      InetSocketAddress api = node.httpAddress().orElseThrow();
      AutoCloseable alongside = beside == null ? () -> { }
          : beside.start(URI.create("http://127.0.0.1:" + api.getPort()), id);
      ProgressBar bar = reasoning ? null : new ProgressBar(System.err, total * rounds);
      long shown = 0;
      Campaign.Progress progress;
      double steadyFrom = 0;
      long steadyRounds = 0;
      double windowEnd = 0;
      long windowRounds = 0;
      long peakHeap = 0;
      int peakOpen = 0;
      long lastReport = System.nanoTime();
      try (alongside) {
        while (true) {
          progress = node.progress(id).toCompletableFuture().get(60, TimeUnit.SECONDS);
          long judged = verdicts.get();
          double now = (System.nanoTime() - started) / 1e9;
          for (; bar != null && shown < judged; shown++) {
            bar.advance(Status.CORRECT);
          }
          peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
          int open = llms.stream().mapToInt(LatencyLlmServer::open).sum();
          peakOpen = Math.max(peakOpen, open);
          if (steadyFrom == 0 && judged >= total) {
            // From the first full wave on, every branch is past its start: the steady state.
            steadyFrom = now;
            steadyRounds = judged;
          }
          if (progress.results().values().stream().noneMatch(ProblemResult::finished)) {
            // The window ends before the first problem's deadline: until then every branch is running.
            windowEnd = now;
            windowRounds = judged;
          }
          if (reasoning && System.nanoTime() - lastReport > 10e9) {
            lastReport = System.nanoTime();
            System.err.printf("  %4.0f s: %d rounds judged, %d LLM calls open, heap %d MiB%n", now, judged, open,
                memory.getHeapMemoryUsage().getUsed() >> 20);
          }
          if (progress.finished() != null) {
            break;
          }
          Thread.sleep(200);
        }
      }
      double wall = (System.nanoTime() - started) / 1e9;
      if (bar != null) {
        bar.finish();
      }
      long judged = 0;
      for (ProblemResult r : progress.results().values()) {
        judged += r.roundsJudged();
      }
      double rate = judged / wall;
      double steady = steadyFrom > 0 && wall > steadyFrom ? (judged - steadyRounds) / (wall - steadyFrom) : rate;
      double window = windowEnd - steadyFrom;
      long llmCalls = llms.stream().mapToLong(LatencyLlmServer::calls).sum() - callsBefore;
      double meanLatency = llmCalls == 0 ? 0
          : llms.stream().mapToDouble(l -> l.meanLatencySeconds() * l.calls()).sum()
              / llms.stream().mapToLong(LatencyLlmServer::calls).sum();
      List<LlmClient.Stats> stats = node.llmStats();
      long llmErrors = stats.stream().mapToLong(st -> st.failed() + st.retried()).sum();
      return new Run(total, reasoning ? judged : (long) total * rounds, judged, wall, rate, steady, steadyFrom,
          windowEnd, window > 0 ? (windowRounds - steadyRounds) / window : 0, llmCalls, llmErrors, meanLatency,
          Math.max(peakOpen, llms.stream().mapToInt(LatencyLlmServer::peakOpen).sum()),
          stats.stream().map(st -> st.endpoint() + " " + st.peakInFlight() + "/" + st.maxConcurrency()).toList(),
          peakHeap);
    }
  }

  static String promptsFolder() {
    return Path.of(System.getenv().getOrDefault("KFARM_HOME", ".")).resolve("prompts").toAbsolutePath().toString();
  }

  /** {@code count} trivial problems: the benchmarks measure the control plane, not what it verifies. */
  static List<Problem> generatedProblems(int count) {
    List<Problem> set = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      set.add(new Problem("bench/p" + i, 1, "p" + i, "import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):"
          + "\n    def forward(self, x):\n        return x * " + i + "\n"));
    }
    return set;
  }

  /** A campaign that spends its budget: every branch keeps asking for up to {@code rounds} rounds. */
  static CampaignSpec spec(int branches, int rounds, Duration budget, List<LlmEndpoint> endpoints) {
    return new CampaignSpec("control-plane",
        new CampaignSpec.ProblemSelection("generated", List.of(), List.of()), Backend.CPU,
        new CampaignSpec.Search(branches, rounds, budget, CampaignSpec.StopRule.SPEND_BUDGET, null, 0, 0),
        new CampaignSpec.Sampling(0.7, 1024, null), endpoints.stream().map(LlmEndpoint::name).toList(),
        VerifySettings.defaults());
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  /**
   * Every branch asks, waits the verdict latency, and asks again with its conversation one answer and one feedback
   * longer, as a Branch does; returns rounds per second.
   */
  private double bareLoop(LlmClient client, int total, int rounds) {
    long started = System.nanoTime();
    List<CompletableFuture<Void>> branchesDone = new ArrayList<>();
    for (int b = 0; b < total; b++) {
      List<ChatMessage> conversation = new ArrayList<>(List.of(ChatMessage.system("You write CUDA kernels."),
          ChatMessage.user("Problem " + b % problems + ": make it faster.")));
      CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
      for (int r = 0; r < rounds; r++) {
        chain = chain.thenCompose(ignored -> client.complete(
                new ChatRequest(List.copyOf(conversation), 0.7, 1024, null, true)).toCompletableFuture())
            .thenCompose(answer -> CompletableFuture.runAsync(() -> {
              // One branch's steps run one after another, so its conversation needs no lock.
              conversation.add(ChatMessage.assistant(answer.content()));
              conversation.add(ChatMessage.user("CORRECT, 1.2x faster: try again."));
            }, CompletableFuture.delayedExecutor(verdictLatency.toNanos(), TimeUnit.NANOSECONDS)));
      }
      branchesDone.add(chain);
    }
    CompletableFuture.allOf(branchesDone.toArray(CompletableFuture[]::new)).join();
    return (double) total * rounds / ((System.nanoTime() - started) / 1e9);
  }
}
