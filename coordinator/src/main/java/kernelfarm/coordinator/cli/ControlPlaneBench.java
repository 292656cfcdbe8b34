package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.ConfigFactory;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.llm.ChatMessage;
import kernelfarm.coordinator.llm.ChatRequest;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.DeviceCapabilities;
import kernelfarm.protocol.DeviceRef;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Timing;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The control plane alone: one coordinator node (Campaign and ProblemCoordinator entities persisted to an H2 file,
 * Branches, the Dispatcher singleton, the real LLM client over HTTP) driven by a fast fake LLM on loopback and a
 * fake worker that answers every lease after a fixed verdict latency. Prints the branches in flight and the rounds
 * per second, against the target (1,000 branches, 500 rounds/s on one 2-core node), and counts errors.
 *
 * <p>The baseline, measured first in the same run: a bare loop with the same branches making the same LLM calls
 * through the same client and waiting the same verdict latency, with no actors, persistence or dispatch. The ratio
 * of the two is the share of the achievable rate the control plane keeps.
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

  private static final double TARGET_ROUNDS_PER_SECOND = 500;
  private static final int TARGET_BRANCHES = 1000;

  @Override
  public Integer call() throws Exception {
    try (Fixture fixture = fixture()) {
      System.err.printf("baseline: a bare loop of %d branches x %d rounds through the same LLM client%n",
          problems * branches, rounds);
      double bare = bareLoop(new LlmClient(fixture.endpoint(), fixture.http(), fixture.json(), Clock.systemUTC()),
          problems * branches, rounds);
      Run run = controlPlane(fixture, null);
      System.out.printf("branches in flight: %d (target %d); peak concurrent LLM calls: %d%n", run.branches(),
          TARGET_BRANCHES, run.llmPeak());
      System.out.printf("rounds: %d judged of %d in %.1f s: %.0f rounds/s overall, %.0f rounds/s after the first "
          + "wave (target %.0f: %.2fx)%n", run.judged(), run.planned(), run.wallSeconds(), run.roundsPerSecond(),
          run.steadyRoundsPerSecond(), TARGET_ROUNDS_PER_SECOND, run.steadyRoundsPerSecond()
              / TARGET_ROUNDS_PER_SECOND);
      System.out.printf("baseline, a bare client loop (no actors, persistence or dispatch): %.0f rounds/s; the "
          + "control plane keeps %.2fx of it%n", bare, run.roundsPerSecond() / bare);
      System.out.printf("LLM calls: %d; errors: %d rounds missing%n", run.llmCalls(), run.planned() - run.judged());
      return run.planned() == run.judged() ? 0 : 1;
    }
  }

  /** The fake LLM and the client setup that every run of this benchmark (and the dashboard's) shares. */
  record Fixture(HttpServer llm, ObjectMapper json, HttpClient http, LlmEndpoint endpoint, AtomicLong llmCalls,
      AtomicInteger llmPeak) implements AutoCloseable {
    @Override
    public void close() {
      llm.stop(0);
    }
  }

  Fixture fixture() throws Exception {
    ObjectMapper json = new ObjectMapper();
    AtomicLong llmCalls = new AtomicLong();
    AtomicInteger llmPeak = new AtomicInteger();
    HttpServer llm = fakeLlm(json, llmCalls, new AtomicInteger(), llmPeak);
    LlmEndpoint endpoint = new LlmEndpoint("bench", URI.create("http://127.0.0.1:" + llm.getAddress().getPort()
        + "/v1"), "fake", null, problems * branches, Duration.ofMinutes(1), 2, 0, 0);
    HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(4)).build();
    return new Fixture(llm, json, http, endpoint, llmCalls, llmPeak);
  }

  /** What one run of the control plane measured. */
  record Run(int branches, long planned, long judged, double wallSeconds, double roundsPerSecond,
      double steadyRoundsPerSecond, long llmCalls, int llmPeak) {}

  /** Runs beside the campaign: started once it is submitted, closed when it ends (the dashboard's viewers). */
  interface Beside {
    AutoCloseable start(URI api, String campaignId) throws Exception;
  }

  /** One campaign on a fresh coordinator node (its own H2 file); {@code beside} may be null. */
  Run controlPlane(Fixture fixture, Beside beside) throws Exception {
    fixture.llmCalls().set(0);
    fixture.llmPeak().set(0);
    Path store = Files.createTempDirectory("kfarm-control-plane");
    int total = problems * branches;
    var overrides = ConfigFactory.parseMap(Map.of(
        "pekko.cluster.roles", List.of("coordinator"),
        "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm"),
        // The API and read side run as on any coordinator, on a free port with the token kept beside the store.
        "kernelfarm.coordinator.http.port", 0,
        "kernelfarm.coordinator.http.token-file", store.resolve("api-token").toString(),
        "kernelfarm.coordinator.prompts", Path.of(System.getenv().getOrDefault("KFARM_HOME", "."))
            .resolve("prompts").toAbsolutePath().toString()));
    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), fixture.http(),
        List.of(fixture.endpoint())), true)) {
      AtomicLong verdicts = new AtomicLong();
      node.system().systemActorOf(fakeWorker(node.dispatcher(), verdictLatency, workerSlots, verdicts),
          "fake-worker", Props.empty());
      List<Problem> set = new ArrayList<>();
      for (int i = 0; i < problems; i++) {
        set.add(new Problem("bench/p" + i, 1, "p" + i, "import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):"
            + "\n    def forward(self, x):\n        return x * " + i + "\n"));
      }
      CampaignSpec spec = new CampaignSpec("control-plane",
          new CampaignSpec.ProblemSelection("generated", List.of(), List.of()), Backend.CPU,
          new CampaignSpec.Search(branches, rounds, Duration.ofHours(1), CampaignSpec.StopRule.SPEND_BUDGET, null,
              0, 0),
          new CampaignSpec.Sampling(0.7, 1024, null), List.of("bench"), VerifySettings.defaults());
      String id = "control-plane-" + System.currentTimeMillis();
      System.err.printf("control-plane: %d problems x %d branches x %d rounds = %d branches, %d rounds; verdict "
          + "latency %d ms; %d cores%s%n", problems, branches, rounds, total, total * rounds, verdictLatency.toMillis(),
          Runtime.getRuntime().availableProcessors(), beside == null ? "" : "; with the dashboard open");
      long started = System.nanoTime();
      node.submit(id, spec, set).toCompletableFuture().get(60, TimeUnit.SECONDS);
      InetSocketAddress api = node.httpAddress().orElseThrow();
      AutoCloseable alongside = beside == null ? () -> { }
          : beside.start(URI.create("http://127.0.0.1:" + api.getPort()), id);
      ProgressBar bar = new ProgressBar(System.err, total * rounds);
      long shown = 0;
      Campaign.Progress progress;
      double steadyFrom = 0;
      long steadyRounds = 0;
      try (alongside) {
        while (true) {
          progress = node.progress(id).toCompletableFuture().get(60, TimeUnit.SECONDS);
          long judged = verdicts.get();
          for (; shown < judged; shown++) {
            bar.advance(Status.CORRECT);
          }
          if (steadyFrom == 0 && judged >= total) {
            // From the first full wave on, every branch is past its start: the steady state.
            steadyFrom = (System.nanoTime() - started) / 1e9;
            steadyRounds = judged;
          }
          if (progress.finished() != null) {
            break;
          }
          Thread.sleep(200);
        }
      }
      double wall = (System.nanoTime() - started) / 1e9;
      bar.finish();
      long judged = 0;
      for (ProblemResult r : progress.results().values()) {
        judged += r.roundsJudged();
      }
      double rate = judged / wall;
      double steady = steadyFrom > 0 && wall > steadyFrom ? (judged - steadyRounds) / (wall - steadyFrom) : rate;
      return new Run(total, (long) total * rounds, judged, wall, rate, steady, fixture.llmCalls().get(),
          fixture.llmPeak().get());
    }
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

  /** Answers every chat completion at once with a distinct candidate, so no two rounds share a verdict. */
  private static HttpServer fakeLlm(ObjectMapper json, AtomicLong calls, AtomicInteger inFlight,
      AtomicInteger peak) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
    ExecutorService threads = Executors.newFixedThreadPool(4);
    server.setExecutor(threads);
    server.createContext("/v1/chat/completions", exchange -> {
      try (exchange) {
        peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        exchange.getRequestBody().readAllBytes();
        long n = calls.incrementAndGet();
        ObjectNode body = json.createObjectNode();
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0).put("finish_reason", "stop");
        choice.putObject("message").put("role", "assistant").put("content", "```python\nimport torch\n# " + n
            + "\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return x\n```\n");
        body.putObject("usage").put("prompt_tokens", 100).put("completion_tokens", 20);
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(bytes);
        }
      } finally {
        inFlight.decrementAndGet();
      }
    });
    server.start();
    return server;
  }

  private record LatencyElapsed(DispatcherProtocol.WorkOffer offer) {}

  private record Leased(DispatcherProtocol.WorkOffer offer, int slot) {}

  /**
   * A worker with many slots and no GPU: each slot asks for work, holds the lease for the verdict latency, then
   * reports a small CORRECT verdict with a random speedup and asks again.
   */
  private static Behavior<Object> fakeWorker(ActorRef<DispatcherProtocol.Command> dispatcher, Duration latency,
      int slots, AtomicLong verdicts) {
    DeviceCapabilities cpu = new DeviceCapabilities("fake", EnumSet.of(Backend.CPU), 0L, null);
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      List<ActorRef<DispatcherProtocol.WorkOffer>> offers = new ArrayList<>();
      for (int i = 0; i < slots; i++) {
        int slot = i;
        offers.add(ctx.messageAdapter(DispatcherProtocol.WorkOffer.class, o -> new Leased(o, slot)));
      }
      ActorRef<DispatcherProtocol.VerdictAck> acks = ctx.messageAdapter(DispatcherProtocol.VerdictAck.class,
          a -> a);
      for (int i = 0; i < slots; i++) {
        dispatcher.tell(new DispatcherProtocol.RequestWork("fake-" + i, cpu, offers.get(i)));
      }
      return Behaviors.receive(Object.class)
          .onMessage(Leased.class, j -> {
            timers.startSingleTimer(j.offer().leaseId(), new LatencyElapsed(j.offer()), latency);
            dispatcher.tell(new DispatcherProtocol.RequestWork("fake-" + j.slot(), cpu, offers.get(j.slot())));
            return Behaviors.same();
          })
          .onMessage(LatencyElapsed.class, o -> {
            DispatcherProtocol.WorkOffer offer = o.offer();
            double speedup = 0.5 + ThreadLocalRandom.current().nextDouble();
            Stats ref = new Stats(1.0, 1.0, 0.01, 0.99, 1.02, 100, null);
            Stats cand = new Stats(1.0 / speedup, 1.0 / speedup, 0.01, 0.99 / speedup, 1.02 / speedup, 100, null);
            Verdict v = new Verdict(offer.candidate().id(), offer.problem().id(), Status.CORRECT, "timing",
                Map.of("timing", latency.toMillis() * 1.0), null, new Timing("fake", ref, cand, speedup, "measured"),
                List.of(), null, null, new DeviceRef("fake", 0, "fake"), "fake verdict", List.of());
            dispatcher.tell(new DispatcherProtocol.ReportVerdict(offer.leaseId(), v, acks));
            verdicts.incrementAndGet();
            return Behaviors.same();
          })
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }));
  }
}
