package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code kfarm demo}: the embedded default. {@code kfarm campaign} on the example problems in examples/problems,
 * with the recordings in prompts/demo/ as the LLM when no endpoint is configured: each problem's branch asks its
 * LLM, every candidate is verified for real, and every verdict becomes the next prompt. It prints the dashboard's
 * address as the campaign starts; after the results it keeps serving the dashboard until Ctrl-C when run from a
 * terminal or with {@code --serve}, and exits when its input is not a terminal (scripts, CI).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run a small closed-loop campaign on the example problems on a local node.")
final class DemoCommand implements Callable<Integer> {
  @Mixin
  FarmOptions farm;

  @Mixin
  LlmOptions llm;

  @Option(names = "--branches", defaultValue = "1", description = "branches per problem (default: ${DEFAULT-VALUE})")
  int branches;

  @Option(names = "--rounds", defaultValue = "3", description = "rounds per branch (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--budget", defaultValue = "PT4M", description = "time budget per problem (default: ${DEFAULT-VALUE})")
  Duration budget;

  @Option(names = "--serve", description = "keep serving the dashboard after the campaign ends, until Ctrl-C, even "
      + "when input is not a terminal (from a terminal it always does)")
  boolean serve;

  @Override
  public Integer call() throws Exception {
    Path home = Path.of(System.getenv().getOrDefault("KFARM_HOME", ".")).toAbsolutePath().normalize();
    Path problems = home.resolve("examples").resolve("problems");
    if (!Files.isDirectory(problems)) {
      throw new IllegalArgumentException("demo: no examples/problems under " + home + "; run it from the "
          + "KernelFarm checkout or set KFARM_HOME to it");
    }
    // Parsed, so every option the demo leaves alone keeps kfarm campaign's own default.
    CampaignCommand campaign = CommandLine.populateCommand(new CampaignCommand(), "--problems", problems.toString(),
        "--name", "demo", "--branches", Integer.toString(branches), "--rounds", Integer.toString(rounds),
        "--budget", budget.toString(), "--max-tokens", "8192");
    campaign.farm = farm;
    // Someone at a terminal wants to look at the results on the page; a script or CI wants the demo to end.
    campaign.keepServing = serve || stdinIsTerminal();
    campaign.llm = llm;
    if (llm.endpoints(new ObjectMapper()).isEmpty()) {
      campaign.replay = home.resolve("prompts").resolve("demo");
      campaign.replayNotice = "kfarm demo: no LLM endpoint configured (KFARM_LLM_BASE_URL is unset), so answers "
          + "come from the built-in replay endpoint (recordings in prompts/demo/)";
      // The recordings are C++ and PyTorch answers: on a GPU host they still run on the cpu backend.
      if (farm.backend.equals("auto")) {
        farm.backend = "cpu";
      }
    }
    return campaign.call();
  }

  /**
   * Whether standard input is a terminal. Java 17's {@code System.console()} also needs standard output to be one
   * ({@code kfarm demo | tee log} would count as a script), so on Linux fd 0 itself is asked.
   */
  static boolean stdinIsTerminal() {
    Path fd0 = Path.of("/proc/self/fd/0");
    try {
      String target = Files.readSymbolicLink(fd0).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
    } catch (IOException | UnsupportedOperationException e) {
      return System.console() != null;
    }
  }
}
