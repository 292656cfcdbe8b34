package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import kernelfarm.coordinator.llm.FakeLlmServer;

/**
 * Cluster nodes as JVMs of their own on loopback, for the process tests: launching {@code kfarm campaign} and
 * {@code kfarm node} on this test's classpath, signalling them, and the checks every fault test ends with (the
 * campaign complete, each LLM round asked once, one verdict per round, no harness process left).
 *
 * <p>The campaign is always the same: 1_GELU_tanh and 4_SumSquares, 2 branches x 3 rounds, on the cpu backend,
 * answered by {@link ScriptedModel}.
 */
final class ProcessNodes {
  private ProcessNodes() {}

  /** Branches x problems: how many LLM requests each round gets when none is asked twice. */
  static final int REQUESTS_PER_ROUND = 4;

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The H2 file store in {@code folder}, as the single-coordinator tests use it. */
  static String h2File(Path folder) {
    return "jdbc:h2:file:" + folder.resolve("kfarm").toAbsolutePath();
  }

  /**
   * {@code kfarm campaign} on the test campaign as its own JVM, on the H2 store in {@code store}, asking
   * {@code llm}; {@code nodeArgs} say which roles it plays and which cluster it joins.
   */
  static Process launchCampaign(FakeLlmServer llm, Path store, Path out, Path log, String id, List<String> nodeArgs)
      throws IOException {
    return launchCampaign(llm, h2File(store), out, log, id, nodeArgs, List.of());
  }

  /** As above on any store, with JVM options (-D settings) of the test's. */
  static Process launchCampaign(FakeLlmServer llm, String storeUrl, Path out, Path log, String id,
      List<String> nodeArgs, List<String> jvmOptions) throws IOException {
    List<String> args = new ArrayList<>(List.of("campaign"));
    args.addAll(nodeArgs);
    args.addAll(List.of("--problems", Path.of("../examples/problems").toAbsolutePath().toString(),
        "--only", "1_GELU_tanh,4_SumSquares", "--id", id, "--branches", "2", "--rounds", "3",
        "--budget", "PT10M", "--trials", "3", "--timing-trials", "20", "--backend", "cpu", "--out", out.toString()));
    ProcessBuilder builder = kfarm(jvmOptions, args, log);
    coordinatorEnvironment(builder.environment(), llm, storeUrl);
    builder.environment().put("KFARM_WORK_DIR", Path.of("target/kfarm-test-work").toAbsolutePath().toString());
    return builder.start();
  }

  /**
   * {@code kfarm node --roles coordinator} on {@code port}, forming the cluster: started first, it is the oldest
   * node and so runs the Dispatcher singleton. No HTTP API, so it takes no fixed port of the host.
   */
  static Process launchCoordinatorNode(FakeLlmServer llm, String storeUrl, int port, Path log, List<String> jvmOptions)
      throws IOException {
    ProcessBuilder builder = kfarm(jvmOptions, List.of("node", "--roles", "coordinator", "--port",
        Integer.toString(port)), log);
    coordinatorEnvironment(builder.environment(), llm, storeUrl);
    builder.environment().put("KFARM_HTTP_ENABLED", "off");
    return builder.start();
  }

  /** {@code kfarm node --roles worker} joining the node at {@code joinPort}, with a work folder of its own. */
  static Process launchWorker(int joinPort, Path workDir, Path log) throws IOException {
    return launchWorker(joinPort, 0, workDir, log);
  }

  /** As above on cluster port {@code port} (0: a free one), so a test can find the node in the cluster's logs. */
  static Process launchWorker(int joinPort, int port, Path workDir, Path log) throws IOException {
    ProcessBuilder builder = kfarm(List.of(), List.of("node", "--roles", "worker", "--join", "127.0.0.1:" + joinPort,
        "--port", Integer.toString(port)), log);
    Map<String, String> env = builder.environment();
    env.put("KFARM_DEVICES", "cpu");
    env.put("KFARM_WORK_DIR", workDir.toAbsolutePath().toString());
    env.remove("KFARM_LLM_API_KEY");
    return builder.start();
  }

  private static ProcessBuilder kfarm(List<String> jvmOptions, List<String> args, Path log) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString()));
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "kernelfarm.coordinator.Main"));
    command.addAll(args);
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
  }

  private static void coordinatorEnvironment(Map<String, String> env, FakeLlmServer llm, String storeUrl) {
    env.put("KFARM_LLM_BASE_URL", llm.baseUrl().toString());
    env.put("KFARM_LLM_MODEL", "fake-model");
    env.put("KFARM_STORE_URL", storeUrl);
    env.put("KFARM_PROMPTS", Path.of("../prompts").toAbsolutePath().toString());
    env.put("KFARM_DEVICES", "cpu");
  }

  /** Sends {@code signal} (STOP, CONT) to a process this test started; Java's API knows only TERM and KILL. */
  static void signal(Process process, String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " failed");
  }

  /**
   * Polls until {@code done}, failing with the log of whichever watched process ended first, or after
   * {@code limit}. Processes are polled, not awaited: they report only by exiting and by their logs.
   */
  static void await(String what, Duration limit, BooleanSupplier done, Map<Process, Path> mustLive)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!done.getAsBoolean()) {
      for (Map.Entry<Process, Path> p : mustLive.entrySet()) {
        assertTrue(p.getKey().isAlive(), p.getValue().getFileName() + " ended early:\n" + Files.readString(p.getValue()));
      }
      assertTrue(System.nanoTime() < deadline, "not within " + limit + ": " + what);
      Thread.sleep(200);
    }
  }

  /** How many LLM requests asked for round {@code round} (the conversation holds round - 1 answers). */
  static int roundRequests(FakeLlmServer llm, int round) {
    int n = 0;
    for (FakeLlmServer.Recorded r : llm.requests()) {
      if (r.body() == null) {
        continue; // not a chat completion: the reachability check before a campaign starts
      }
      int assistants = 0;
      for (JsonNode m : r.body().path("messages")) {
        if (m.path("role").asText().equals("assistant")) {
          assistants++;
        }
      }
      if (assistants == round - 1) {
        n++;
      }
    }
    return n;
  }

  /**
   * The campaign that {@code campaign} ran finished (exit 0) with every round of both problems judged once, and no
   * LLM round was asked twice.
   */
  static void assertCompleteOnce(Process campaign, Path log, FakeLlmServer llm, Path out, ObjectMapper json)
      throws IOException {
    assertEquals(0, campaign.exitValue(), Files.readString(log));
    for (int round = 1; round <= 3; round++) {
      assertEquals(REQUESTS_PER_ROUND, roundRequests(llm, round), "round " + round + " asked once per branch");
    }
    assertJudgedOnce(out, json);
  }

  /** The results say both problems finished with one verdict per round. */
  static void assertJudgedOnce(Path out, ObjectMapper json) throws IOException {
    JsonNode results = json.readTree(out.resolve("results.json").toFile());
    assertEquals(2, results.path("problems").size());
    for (JsonNode problem : results.path("problems")) {
      assertEquals(6, problem.path("roundsJudged").asInt(), "one verdict per round: " + problem.path("problemId"));
      assertTrue(problem.path("finished").asBoolean(), problem.path("problemId").asText());
    }
  }

  /**
   * Brings the campaign to a point where no LLM answer is in transit: pauses (SIGSTOP) the only worker, so no
   * verdict starts a new round, then waits until the LLM has had no request for two seconds (its answers come at
   * once, and each is persisted within milliseconds). A fault that strikes now loses no answered round; one that
   * struck mid-answer would rightly ask that round again, which a count of requests cannot tell from a defect. The
   * caller resumes the worker (SIGCONT) within the failure detector's patience.
   */
  static void quiesce(FakeLlmServer llm, Process worker) throws IOException, InterruptedException {
    signal(worker, "STOP");
    long quiet = Duration.ofSeconds(2).toNanos();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    int seen = llm.requests().size();
    long quietSince = System.nanoTime();
    while (System.nanoTime() - quietSince < quiet) {
      assertTrue(System.nanoTime() < deadline, "the LLM kept being asked with the worker paused");
      Thread.sleep(100);
      int now = llm.requests().size();
      if (now != seen) {
        seen = now;
        quietSince = System.nanoTime();
      }
    }
  }

  /**
   * Live processes whose command line or environment names {@code folder}: the sandboxes (bwrap's arguments) and
   * harness interpreters (HOME is their scratch) of a worker using it.
   */
  static List<String> processesUsing(Path folder) throws IOException {
    String needle = folder.toAbsolutePath().toString();
    List<String> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String cmdline = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
          String environ = Files.isReadable(p.resolve("environ"))
              ? new String(Files.readAllBytes(p.resolve("environ"))) : "";
          if (cmdline.contains(needle) || environ.contains(needle)) {
            found.add(p.getFileName() + ": " + cmdline);
          }
        } catch (IOException e) {
          // the process ended meanwhile
        }
      }
    }
    return found;
  }

  /** SIGKILLs what is still running of {@code processes}: a failed test must not leave nodes behind. */
  static void killAll(Process... processes) {
    for (Process p : processes) {
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
      }
    }
  }
}
