package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.llm.LlmEndpoint;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How {@code kfarm campaign} finds its LLM endpoints, and how it refuses ones that cannot work. */
class CampaignEndpointsTest {
  private static final String KEY = "sk-kfarm-cli-test-key-0123456789";

  private record Run(int exitCode, String out, String err) {}

  /** Runs the command line as {@code kfarm} does, capturing what it prints. */
  private static Run kfarm(String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(outBytes, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(errBytes, true, StandardCharsets.UTF_8));
      int code = KfarmCommand.execute(args);
      return new Run(code, outBytes.toString(StandardCharsets.UTF_8), errBytes.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  private static int deadPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static Path endpointsFile(String text) throws IOException {
    Path file = Files.createTempFile("kfarm-endpoints", ".json");
    Files.writeString(file, text);
    return file;
  }

  @Test
  void aCampaignWhoseEveryEndpointIsUnreachableFailsBeforeItStarts() throws Exception {
    int port = deadPort();
    Path file = endpointsFile("{\"endpoints\": [{\"name\": \"nobody-home\", \"baseUrl\": \"http://127.0.0.1:" + port
        + "/v1\", \"model\": \"r1\"}, {\"name\": \"also-down\", \"baseUrl\": \"http://127.0.0.1:" + deadPort()
        + "/v1\", \"model\": \"r1\"}]}");
    long started = System.nanoTime();

    Run run = kfarm("campaign", "--problems", "../examples/problems", "--only", "4_SumSquares", "--llm-endpoints",
        file.toString(), "--out", Files.createTempDirectory("kfarm-out").toString());

    assertNotEquals(0, run.exitCode(), run.out() + run.err());
    assertTrue(run.err().contains("no LLM endpoint is reachable, so the campaign was not started: nobody-home "
        + "(http://127.0.0.1:" + port + "/v1): connection refused"), run.err());
    assertTrue(run.err().contains("also-down"), run.err());
    assertFalse(run.out().contains("rounds:"), "no campaign ran: " + run.out());
    assertTrue((System.nanoTime() - started) / 1e9 < 20, "it fails fast, not after a budget of retries");
  }

  @Test
  void aMalformedEndpointsFileIsRefusedNamingTheFieldAndTheFix() throws Exception {
    Path file = endpointsFile("{\"endpoints\": [{\"name\": \"a\", \"baseUrl\": \"http://a:8000/v1\", \"model\": "
        + "\"r1\", \"maxConcurrency\": \"lots\", \"apiKey\": \"" + KEY + "\"}]}");

    Run run = kfarm("campaign", "--problems", "../examples/problems", "--llm-endpoints", file.toString());

    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.err().contains("endpoints[0].maxConcurrency: must be a whole number of at least 1, got \"lots\"; "
        + "write how many calls may be in flight at once"), run.err());
    assertTrue(run.err().contains("endpoints[0].apiKey: a key never goes in a file"), run.err());
    assertFalse(run.err().contains(KEY), "the key is never printed: " + run.err());
  }

  @Test
  void concurrencyComesFromTheFlagOverTheFileOverTheEnvironment() throws Exception {
    Path file = endpointsFile("{\"endpoints\": [{\"name\": \"vllm\", \"baseUrl\": \"http://gpu:8000/v1\", "
        + "\"model\": \"r1\", \"maxConcurrency\": 256}]}");
    Map<String, String> env = Map.of("KFARM_LLM_BASE_URL", "http://a/v1,http://b/v1", "KFARM_LLM_MODEL", "r1",
        "KFARM_LLM_MAX_CONCURRENCY", "32", "KFARM_LLM_API_KEY", KEY);

    assertEquals(List.of(32, 32), limits(env));
    assertEquals(List.of(8, 8), limits(env, "--llm-concurrency", "8"));
    assertEquals(List.of(256), limits(env, "--llm-endpoints", file.toString()));
    assertEquals(List.of(256), limits(Map.of(LlmOptions.ENDPOINTS_FILE, file.toString())), "the file by variable");
    assertEquals(List.of(100), limits(env, "--llm-endpoints", file.toString(), "--llm-concurrency", "100"));
    assertEquals(List.of(64), limits(Map.of("KFARM_LLM_BASE_URL", "http://a/v1", "KFARM_LLM_MODEL", "r1")),
        "the default suits reasoning models");
  }

  private static List<Integer> limits(Map<String, String> env, String... args) {
    CampaignCommand command = new CampaignCommand();
    String[] all = new String[args.length + 2];
    all[0] = "--problems";
    all[1] = "../examples/problems";
    System.arraycopy(args, 0, all, 2, args.length);
    new CommandLine(command).parseArgs(all);
    command.llm.env = env;
    return command.llm.endpoints(new ObjectMapper()).stream().map(LlmEndpoint::maxConcurrency).toList();
  }
}
