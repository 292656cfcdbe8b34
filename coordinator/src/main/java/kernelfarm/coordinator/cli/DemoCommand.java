package kernelfarm.coordinator.cli;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.coordinator.llm.ReplayLlmServer;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Problem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code kfarm demo}: the embedded default. One local node with both roles (a one-node cluster on an H2 file
 * store) runs a small campaign on the example problems in examples/problems: each problem's branch asks its LLM,
 * every candidate is verified for real, and every verdict becomes the next prompt. With no endpoint configured
 * the answers come from the recordings in prompts/demo/ through a local OpenAI-compatible server.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run a small closed-loop campaign on the example problems on a local node.")
final class DemoCommand implements Callable<Integer> {
  @Mixin
  FarmOptions farm;

  @Option(names = "--branches", defaultValue = "1", description = "branches per problem (default: ${DEFAULT-VALUE})")
  int branches;

  @Option(names = "--rounds", defaultValue = "3", description = "rounds per branch (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--budget", defaultValue = "PT4M", description = "time budget per problem (default: ${DEFAULT-VALUE})")
  Duration budget;

  @Override
  public Integer call() throws Exception {
    Path home = Path.of(System.getenv().getOrDefault("KFARM_HOME", ".")).toAbsolutePath().normalize();
    Path problemsDir = home.resolve("examples").resolve("problems");
    if (!Files.isDirectory(problemsDir)) {
      throw new IllegalArgumentException("demo: no examples/problems under " + home + "; run it from the "
          + "KernelFarm checkout or set KFARM_HOME to it");
    }
    ObjectMapper json = new ObjectMapper();
    List<Problem> problems = ProblemLibrary.load(problemsDir, json).all();
    Optional<LlmEndpoint> configured = LlmEndpoint.fromEnvironment(System.getenv());
    ReplayLlmServer replay = null;
    LlmEndpoint endpoint;
    if (configured.isPresent()) {
      endpoint = configured.get();
      System.out.println("kfarm demo: LLM endpoint " + endpoint.model() + " at " + endpoint.baseUrl());
    } else {
      Path recordings = home.resolve("prompts").resolve("demo");
      Map<String, String> sources = new LinkedHashMap<>();
      problems.forEach(p -> sources.put(p.name(), p.source()));
      replay = ReplayLlmServer.start(recordings, sources, json);
      problems = problems.stream().filter(p -> Files.isDirectory(recordings.resolve(p.name()))).toList();
      endpoint = new LlmEndpoint("default", replay.baseUrl(), "kfarm-replay", null, 4, Duration.ofMinutes(1), 2, 0,
          0);
      System.out.println("kfarm demo: no LLM endpoint configured (KFARM_LLM_BASE_URL is unset), so answers come "
          + "from the built-in replay endpoint (recordings in prompts/demo/)");
    }
    String campaignId = "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path out = home.resolve("kfarm-results").resolve(campaignId);
    Config overrides = farm.overrides()
        .withFallback(ConfigFactory.parseMap(Map.of(
            "kernelfarm.coordinator.prompts", home.resolve("prompts").toString(),
            "kernelfarm.store.url", System.getenv().getOrDefault("KFARM_STORE_URL",
                "jdbc:h2:file:" + home.resolve("kfarm-results").resolve("store").resolve("kfarm")))));
    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(),
        HttpClient.newHttpClient(), List.of(endpoint)), true)) {
      boolean gpu = node.worker().map(w -> w.devices().get(0).gpu()).orElse(false);
      // The recordings are C++ and PyTorch answers: on a GPU host they still run on the cpu backend.
      Backend backend = replay != null ? Backend.CPU : farm.backendFor(null, gpu);
      CampaignSpec spec = new CampaignSpec("demo",
          new CampaignSpec.ProblemSelection(problemsDir.toString(), problems.stream().map(Problem::id).toList(),
              List.of()),
          backend,
          new CampaignSpec.Search(branches, rounds, budget, CampaignSpec.StopRule.SPEND_BUDGET, null, 0, 0),
          new CampaignSpec.Sampling(0.6, 8192, null), List.of("default"), farm.verifySettings());
      spec.validated(java.util.Set.of("default"));
      System.out.printf("campaign %s: %d problems x %d branches x %d rounds, budget %s per problem, %s backend%n",
          campaignId, problems.size(), branches, rounds, budget, backend.wireName());
      return CampaignRunner.run(node, campaignId, spec, problems, out, System.out);
    } finally {
      if (replay != null) {
        replay.close();
      }
    }
  }
}
