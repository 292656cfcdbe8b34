package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
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
 * {@code kfarm campaign}: runs one campaign on a local node (both roles, a one-node cluster on the store named by
 * KFARM_STORE_URL, an H2 file by default) and prints its results. With {@code --join} the node joins a running
 * cluster instead, and with {@code --roles coordinator} its workers judge every candidate. The LLM is every endpoint
 * configured (an endpoints file or the KFARM_LLM_* variables; calls spread over them by free capacity), or, with
 * {@code --replay}, recorded answers served by a local OpenAI-compatible server. A campaign none of whose endpoints
 * answers is refused before it starts, with each endpoint and why.
 */
@Command(name = "campaign", mixinStandardHelpOptions = true,
    description = "Run a closed-loop campaign on a local node: LLM branches per problem, every candidate verified. "
        + "submit, list, status, watch, report and cancel speak to a running coordinator instead.",
    subcommands = {CampaignRemoteCommands.SubmitCommand.class, CampaignRemoteCommands.ListCommand.class,
        CampaignRemoteCommands.StatusCommand.class, CampaignRemoteCommands.WatchCommand.class,
        CampaignRemoteCommands.ReportCommand.class, CampaignRemoteCommands.CancelCommand.class})
final class CampaignCommand implements Callable<Integer> {
  @Mixin
  FarmOptions farm;

  @Mixin
  ClusterOptions cluster;

  @Mixin
  LlmOptions llm;

  // Checked in call(), not by picocli: a required option here would be demanded of `kfarm campaign list` too.
  @Option(names = "--problems", description = "a folder of problem files, a KernelBench checkout or a .jsonl file "
      + "(required to run a campaign)")
  Path problems;

  @Option(names = "--replay", description = "answer from recordings in this folder (<problem name>/round-N.md) "
      + "instead of an LLM endpoint")
  Path replay;

  @Option(names = "--id", description = "the campaign's id (default: <name>-<time>); run the same command with the "
      + "same id again to resume a campaign that was interrupted")
  String id;

  @Mixin
  SearchOptions search;

  @Option(names = "--out", description = "results folder (default: kfarm-results/<campaign id>)")
  Path out;

  /** Set by {@code kfarm demo}: print this line first when no endpoint is configured. */
  String replayNotice;

  /** Set by {@code kfarm demo}: after the results, keep the node (and its dashboard) up until Ctrl-C. */
  boolean keepServing;

  @Override
  public Integer call() throws Exception {
    if (problems == null) {
      throw new IllegalArgumentException("--problems: required to run a campaign; give a folder of problem files, a "
          + "KernelBench checkout or a .jsonl file (or kfarm campaign submit|list|status|watch|report|cancel, which "
          + "speak to a running coordinator)");
    }
    Path home = Path.of(System.getenv().getOrDefault("KFARM_HOME", ".")).toAbsolutePath().normalize();
    ObjectMapper json = new ObjectMapper();
    List<Problem> selected = select(ProblemLibrary.load(problems, json).all());
    List<LlmEndpoint> endpoints = replay != null ? List.of() : llm.endpoints(json);
    if (replay == null && endpoints.isEmpty()) {
      throw new IllegalArgumentException("no LLM endpoint: set KFARM_LLM_BASE_URL (with KFARM_LLM_MODEL and "
          + "KFARM_LLM_API_KEY), or name an endpoints file with --llm-endpoints, or answer from recordings with "
          + "--replay DIR");
    }
    HttpClient http = HttpClient.newHttpClient();
    ReplayLlmServer server = null;
    if (!endpoints.isEmpty()) {
      for (LlmEndpoint e : endpoints) {
        System.out.println("kfarm " + search.name + ": LLM endpoint " + e.name() + ": " + e.model() + " at "
            + e.baseUrl() + ", " + e.maxConcurrency() + " calls at once");
      }
      LlmOptions.requireReachable(endpoints, http, json);
    } else {
      Map<String, String> sources = new LinkedHashMap<>();
      selected.forEach(p -> sources.put(p.name(), p.source()));
      server = ReplayLlmServer.start(replay, sources, json);
      Path recordings = replay;
      selected = selected.stream().filter(p -> Files.isDirectory(recordings.resolve(p.name()))).toList();
      endpoints = List.of(new LlmEndpoint("default", server.baseUrl(), "kfarm-replay", null, 16,
          Duration.ofMinutes(1), 2, 0, 0));
      System.out.println(replayNotice != null ? replayNotice
          : "kfarm " + search.name + ": answers come from the recordings in " + replay);
    }
    List<String> names = endpoints.stream().map(LlmEndpoint::name).toList();
    String campaignId = id != null ? id
        : search.name + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path results = out != null ? out : home.resolve("kfarm-results").resolve(campaignId);
    Config overrides = cluster.nodeOverrides(farm);
    if (System.getenv("KFARM_HTTP_PORT") == null) {
      // A one-shot campaign must not collide with a `kfarm node` (or another campaign) on the API's fixed port.
      overrides = ConfigFactory.parseMap(Map.of("kernelfarm.coordinator.http.port", 0)).withFallback(overrides);
    }
    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), http, endpoints), true)) {
      boolean gpu = node.worker().map(w -> w.devices().get(0).gpu()).orElse(false);
      Backend backend = farm.backendFor(null, gpu);
      CampaignSpec spec = new CampaignSpec(search.name,
          new CampaignSpec.ProblemSelection(problems.toString(), selected.stream().map(Problem::id).toList(),
              List.of()),
          backend,
          search.search(), search.sampling(), names, farm.verifySettings());
      spec.validated(Set.copyOf(names));
      System.out.printf("campaign %s: %d problems x %d branches x %d rounds, budget %s per problem, %s backend%n",
          campaignId, selected.size(), search.branches, search.rounds, search.budget, backend.wireName());
      node.httpAddress().ifPresent(a -> {
        System.out.printf("API: http://%s:%d/api/v1/campaigns/%s%n", a.getHostString(), a.getPort(), campaignId);
        System.out.printf("dashboard (live while it runs): http://%s:%d/dashboard/#/campaigns/%s%n",
            a.getHostString(), a.getPort(), campaignId);
      });
      int code = CampaignRunner.run(node, campaignId, spec, selected, results, System.out);
      if (keepServing && node.httpAddress().isPresent()) {
        InetSocketAddress a = node.httpAddress().get();
        System.out.printf("kfarm %s: finished; the dashboard stays up at http://%s:%d/dashboard/ until Ctrl-C%n",
            search.name, a.getHostString(), a.getPort());
        // Ctrl-C runs Pekko's coordinated shutdown from the JVM's shutdown hook, which terminates the system.
        node.system().getWhenTerminated().toCompletableFuture().join();
      }
      return code;
    } finally {
      if (server != null) {
        server.close();
      }
    }
  }

  private List<Problem> select(List<Problem> all) {
    if (search.only.isEmpty()) {
      return all;
    }
    List<Problem> chosen = new ArrayList<>();
    for (String want : search.only) {
      Problem p = all.stream().filter(q -> q.id().equals(want) || q.name().equals(want)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("--only: no problem named " + want + " in " + problems
              + "; names look like " + all.get(0).name() + " and ids like " + all.get(0).id()));
      chosen.add(p);
    }
    return chosen;
  }
}
