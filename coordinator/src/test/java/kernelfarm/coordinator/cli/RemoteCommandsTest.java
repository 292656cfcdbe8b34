package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.TestNodes;
import kernelfarm.coordinator.llm.FakeLlmServer;
import kernelfarm.coordinator.llm.LlmEndpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code kfarm nodes} and {@code kfarm campaign submit|watch|report} against a real node's HTTP API (both roles,
 * H2 file store, real harness on the cpu backend, the fake LLM): a campaign submitted by flags and watched to its
 * end, one submitted as a YAML spec, their reports written, and bad input answered with the field and the fix.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("slow") // a campaign verified for real (the second is answered from the Dispatcher's verdict cache)
class RemoteCommandsTest {
  private static final String PROBLEMS = Path.of("../examples/problems").toAbsolutePath().toString();
  // The run's own comment makes the source new to the compile cache in target/, so the run really verifies it.
  private static final String CODE = "# remote " + System.nanoTime() + "\nimport torch\nimport torch.nn as nn\n\n"
      + "class ModelNew(nn.Module):\n    def __init__(self):\n        super().__init__()\n\n"
      + "    def forward(self, x):\n        return torch.square(x).sum(-1, keepdim=True)\n";

  private final ObjectMapper json = new ObjectMapper();
  private FakeLlmServer llm;
  private Node node;
  private String url;
  private Path scratch;

  @BeforeAll
  void start() throws Exception {
    llm = FakeLlmServer.start(json).otherwise(FakeLlmServer.answer("```python\n" + CODE + "```\n"));
    scratch = Files.createTempDirectory("kfarm-remote");
    LlmEndpoint endpoint = new LlmEndpoint("fake", llm.baseUrl(), "fake-model", null, 8, Duration.ofSeconds(30), 2,
        1.0, 2.0);
    node = Node.start(Node.config(TestNodes.overrides(
            Map.of("kernelfarm.store.url", "jdbc:h2:file:" + scratch.resolve("store/kfarm").toAbsolutePath()), 1)),
        new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(), List.of(endpoint)), true);
    url = "http://127.0.0.1:" + node.httpAddress().orElseThrow().getPort();
  }

  @AfterAll
  void stop() {
    node.close();
    llm.close();
  }

  private record Cli(int code, String out, String err) {}

  private static Cli kfarm(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = KfarmCommand.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Cli(code, out.toString(), err.toString());
  }

  /** What an operator must never see: a Java stack trace or exception class instead of the field and the fix. */
  private static void assertNoStackTrace(Cli cli) {
    assertFalse(cli.err().contains("\tat ") || cli.err().contains("Exception in") || cli.out().contains("\tat "),
        cli.err());
  }

  @Test
  void nodesListsTheMembersAndEveryDeviceWithItsState() {
    Cli nodes = kfarm("nodes", "--url", url);
    assertEquals(0, nodes.code(), nodes.err());
    assertTrue(nodes.out().contains("1 members"), nodes.out());
    assertTrue(nodes.out().contains(" Up ") && nodes.out().contains("coordinator,worker"), nodes.out());
    assertTrue(nodes.out().contains("1 devices"), nodes.out());
    String device = nodes.out().lines().filter(l -> l.contains("/device-0")).findFirst().orElseThrow();
    assertTrue(device.matches(".* cpu +(idle|busy) +(idle|compiling|evaluating) +yes +\\d+ +\\d+/[1-9]\\d* .*"),
        "the device, its type, state, what it reported doing, health, warm processes and compile slots: " + device);
  }

  @Test
  void aCampaignSubmittedByFlagsIsWatchedToItsEndAndReported() throws Exception {
    String id = "remote-flags-" + System.nanoTime();
    Cli submit = kfarm("campaign", "submit", "--url", url, "--token", TestNodes.TOKEN, "--id", id,
        "--problems", PROBLEMS, "--only", "4_SumSquares", "--backend", "cpu", "--endpoints", "fake",
        "--branches", "1", "--rounds", "1", "--budget", "PT10M", "--trials", "3", "--warmup", "3",
        "--timing-trials", "20", "--max-tokens", "4096", "--name", "remote", "--watch", "--every", "PT0.3S");
    assertEquals(0, submit.code(), submit.out() + submit.err());
    assertTrue(submit.out().contains("campaign " + id + " submitted: 1 problems"), submit.out());
    assertTrue(submit.out().contains("1/1"), "the progress line reached the one planned round: " + submit.out());
    assertTrue(submit.out().contains(id + " (remote): FINISHED, 1/1 problems done"), submit.out());
    assertTrue(submit.out().contains("strict:      correct 1/1"), submit.out());

    Path folder = scratch.resolve("report-" + id);
    Cli report = kfarm("campaign", "report", id, "--url", url, "--out", folder.toString());
    assertEquals(0, report.code(), report.err());
    JsonNode results = json.readTree(folder.resolve("results.json").toFile());
    assertEquals(id, results.path("campaign").asText());
    assertEquals(1, results.path("summary").path("correct").asInt(), results.toString());
    assertEquals("CORRECT", results.path("problems").get(0).path("best").path("status").asText());
    assertTrue(results.path("problems").get(0).path("bestSource").asText().contains("torch.square"),
        "the best candidate's source comes with the results");
    JsonNode eval = json.readTree(folder.resolve("eval_results.json").toFile());
    assertTrue(eval.path("4").get(0).path("correctness").asBoolean(), eval.toString());
    assertEquals("4_SumSquares", eval.path("4").get(0).path("problem_name").asText());
    String svg = Files.readString(folder.resolve("speedup.svg"));
    assertTrue(svg.startsWith("<svg") && svg.contains("<polyline") && svg.contains("4_SumSquares"), svg);
    assertTrue(report.out().contains("eval_results: " + folder.resolve("eval_results.json")), report.out());
  }

  @Test
  void aYamlSpecIsSubmittedAsTheApisJsonAndWatched() throws Exception {
    String id = "remote-yaml-" + System.nanoTime();
    Path spec = scratch.resolve(id + ".yaml");
    Files.writeString(spec, """
        name: yaml
        problems: {source: "%s", ids: [4_SumSquares]}
        backend: cpu
        search: {branches: 1, rounds: 1, timeBudget: PT10M, stopRule: SPEND_BUDGET, topK: 0}
        sampling: {temperature: 0.7, maxTokens: 4096}
        endpoints: [fake]
        verify:
          correctnessTrials: 3
          atol: 0.01
          rtol: 0.01
          warmupRuns: 3
          timingTrials: 20
          flushL2: true
          requireCustomKernel: false
          seed: 42
        """.formatted(PROBLEMS));
    Cli submit = kfarm("campaign", "submit", "--url", url, "--token", TestNodes.TOKEN, "--id", id,
        "--spec", spec.toString());
    assertEquals(0, submit.code(), submit.err());
    Cli watch = kfarm("campaign", "watch", id, "--url", url, "--every", "PT0.3S");
    assertEquals(0, watch.code(), watch.err());
    assertTrue(watch.out().contains(id + " (yaml): FINISHED"), watch.out());
  }

  @Test
  void badInputNamesTheFieldAndTheFixAndExitsTwo() throws Exception {
    Path zeroBranches = scratch.resolve("zero-branches.yaml");
    Files.writeString(zeroBranches, """
        name: bad
        problems: {source: "%s"}
        backend: cpu
        search: {branches: 0, rounds: 1, timeBudget: PT10M, stopRule: SPEND_BUDGET, topK: 0}
        sampling: {temperature: 0.7, maxTokens: 4096}
        endpoints: [fake]
        verify: {correctnessTrials: 3, atol: 0.01, rtol: 0.01, warmupRuns: 3, timingTrials: 20, flushL2: true,
                 requireCustomKernel: false, seed: 42}
        """.formatted(PROBLEMS));
    Path broken = scratch.resolve("broken.yaml");
    Files.writeString(broken, "name: bad\nsearch: {branches: 1\n  rounds: [\n");
    Map<List<String>, String> cases = Map.of(
        List.of("campaign", "submit", "--spec", zeroBranches.toString()), "search.branches",
        List.of("campaign", "submit", "--spec", broken.toString()), "--spec: " + broken,
        List.of("campaign", "submit", "--spec", scratch.resolve("none.yaml").toString()), "--spec: no file",
        List.of("campaign", "submit"), "--problems: required without --spec",
        List.of("campaign", "submit", "--problems", PROBLEMS, "--spec", zeroBranches.toString()),
        "--spec and --problems",
        List.of("campaign", "submit", "--problems", PROBLEMS, "--backend", "gpu"), "--backend:",
        List.of("campaign", "submit", "--problems", PROBLEMS, "--endpoints", "nope", "--backend", "cpu"),
        "endpoints[0]");
    cases.forEach((args, field) -> {
      List<String> all = new java.util.ArrayList<>(args);
      all.addAll(List.of("--url", url, "--token", TestNodes.TOKEN));
      Cli cli = kfarm(all.toArray(String[]::new));
      assertEquals(2, cli.code(), args + ": " + cli.out() + cli.err());
      assertTrue(cli.err().contains(field), args + " names " + field + ": " + cli.err());
      assertNoStackTrace(cli);
    });
    Cli noToken = kfarm("campaign", "submit", "--url", url, "--token", "", "--problems", PROBLEMS);
    assertEquals(2, noToken.code());
    assertTrue(noToken.err().contains("401") && noToken.err().contains("Authorization"), noToken.err());
  }

  @Test
  void anUnreachableCoordinatorIsNamedWithExitCodeTwo() {
    for (String[] args : List.of(new String[] {"nodes"}, new String[] {"campaign", "watch", "x"},
        new String[] {"campaign", "report", "x"}, new String[] {"campaign", "submit", "--problems", PROBLEMS})) {
      List<String> all = new java.util.ArrayList<>(List.of(args));
      // Port 1 on loopback: nothing listens there, so the connection is refused at once.
      all.addAll(List.of("--url", "http://127.0.0.1:1"));
      Cli cli = kfarm(all.toArray(String[]::new));
      assertEquals(2, cli.code(), String.join(" ", args) + ": " + cli.err());
      assertTrue(cli.err().contains("cannot reach the coordinator at http://127.0.0.1:1"), cli.err());
      assertNoStackTrace(cli);
    }
    Cli notHttp = kfarm("nodes", "--url", "ftp://coordinator");
    assertEquals(2, notHttp.code());
    assertTrue(notHttp.err().contains("--url:"), notHttp.err());
  }
}
