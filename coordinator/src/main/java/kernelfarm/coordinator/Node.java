package kernelfarm.coordinator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.campaign.SearchMetrics;
import kernelfarm.coordinator.campaign.SearchServices;
import kernelfarm.coordinator.dispatch.Dispatcher;
import kernelfarm.coordinator.http.ApiServer;
import kernelfarm.coordinator.http.MetricsServer;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.coordinator.llm.LlmMetrics;
import kernelfarm.coordinator.problem.ProblemCoordinator;
import kernelfarm.coordinator.prompt.PromptTemplates;
import kernelfarm.coordinator.service.CampaignService;
import kernelfarm.coordinator.store.JournalSchema;
import kernelfarm.coordinator.view.ViewDatabase;
import kernelfarm.coordinator.view.ViewProjection;
import kernelfarm.coordinator.view.ViewQueries;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.worker.BenchWorker;
import kernelfarm.worker.WorkerMetrics;
import kernelfarm.worker.WorkerNode;
import kernelfarm.worker.WorkerSettings;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * One cluster node: starts what its roles ask for. Every node gets a proxy to the Dispatcher singleton (which runs
 * on the oldest coordinator node); a {@code coordinator} node adds the Campaign and ProblemCoordinator shards and
 * its LLM clients, a {@code worker} node its GpuWorkers. {@code kfarm demo} runs one node with both roles; the
 * cluster tests start several on loopback.
 */
public final class Node implements AutoCloseable {
  /** What config cannot express; {@code metrics} is this node's Prometheus registry, served at /metrics. */
  public record Deps(Clock clock, HttpClient http, List<LlmEndpoint> endpoints, PrometheusRegistry metrics) {
    public Deps {
      endpoints = List.copyOf(endpoints);
    }

    /** With a registry of the node's own (nodes of one test JVM must not share one). */
    public Deps(Clock clock, HttpClient http, List<LlmEndpoint> endpoints) {
      this(clock, http, endpoints, new PrometheusRegistry());
    }
  }

  private static final Duration ASK = Duration.ofSeconds(30);

  private final ActorSystem<Void> system;
  private final ActorRef<DispatcherProtocol.Command> dispatcher;
  private final WorkerNode.Started worker;
  private final CampaignService service;
  private final InetSocketAddress http;
  private final InetSocketAddress metrics;
  private final Map<String, LlmClient> llms;

  private Node(ActorSystem<Void> system, ActorRef<DispatcherProtocol.Command> dispatcher,
      WorkerNode.Started worker, CampaignService service, InetSocketAddress http, InetSocketAddress metrics,
      Map<String, LlmClient> llms) {
    this.system = system;
    this.dispatcher = dispatcher;
    this.worker = worker;
    this.service = service;
    this.http = http;
    this.metrics = metrics;
    this.llms = llms;
  }

  /** The node config: {@code node.conf} (cluster, journal) with the store filled in from kernelfarm.store. */
  public static Config config(Config overrides) {
    return withStore(overrides.withFallback(ConfigFactory.load("node")).resolve());
  }

  /**
   * Starts a node and, when the config names no seed nodes and {@code joinSelf} is set, makes it a one-node
   * cluster. Blocks until the journal's tables exist. A coordinator node also creates the read tables, runs its
   * share of the read-side projections and, unless kernelfarm.coordinator.http.enabled is off, serves the HTTP API.
   */
  public static Node start(Config config, Deps deps, boolean joinSelf) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "KernelFarm", config);
    ViewDatabase view = null;
    try {
      Cluster cluster = Cluster.get(system);
      Member self = cluster.selfMember();
      if (self.hasRole("coordinator")) {
        // Only coordinators persist; a worker-only node never opens the store.
        JournalSchema.createIfMissing(config.getString("kernelfarm.store.url"),
            config.getString("kernelfarm.store.user"), config.getString("kernelfarm.store.password"));
      }
      boolean bootstrap = config.getBoolean("kernelfarm.cluster.bootstrap");
      if (config.getBoolean("kernelfarm.management.enabled") || bootstrap) {
        // Health checks first, so a probe sees "not ready" rather than a refused connection while the node joins.
        PekkoManagement.get(system).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      if (bootstrap) {
        ClusterBootstrap.get(system).start();
      } else if (joinSelf && config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      WorkerSettings workerSettings = WorkerSettings.from(config);
      Dispatcher.Settings dispatch = Dispatcher.Settings.from(config);
      ActorRef<DispatcherProtocol.Command> dispatcher = ClusterSingleton.get(system).init(
          SingletonActor.of(Dispatcher.create(deps.clock(), workerSettings.lease(), dispatch,
                  Dispatcher.leaseExpiries(deps.metrics())),
                  DispatcherProtocol.SINGLETON_NAME)
              .withSettings(ClusterSingletonSettings.create(system).withRole("coordinator")));
      Map<String, LlmClient> llms = self.hasRole("coordinator") ? clients(deps, json(system)) : Map.of();
      if (self.hasRole("coordinator")) {
        SearchServices services = new SearchServices(llms,
            PromptTemplates.load(Path.of(config.getString("kernelfarm.coordinator.prompts"))), dispatcher,
            deps.clock(), SearchServices.Settings.from(config), new SearchMetrics(deps.metrics(), endpointNames(deps)));
        Campaign.init(system, services, ProblemCoordinator.problems(system));
        ProblemCoordinator.init(system, services);
        view = ViewDatabase.open(config);
        view.createSchema();
        ViewDatabase opened = view;
        system.getWhenTerminated().thenRun(opened::close);
        ViewProjection.init(system, view, ViewProjection.Settings.from(config));
      }
      ApiServer.Settings httpSettings = ApiServer.Settings.from(config);
      CampaignService service = view == null ? null : new CampaignService(system, new ViewQueries(view, json(system)),
          endpointNames(deps), httpSettings.askTimeout(), dispatcher);
      InetSocketAddress http = service != null && httpSettings.enabled()
          ? ApiServer.start(system, service, httpSettings, deps.metrics(), System.out) : null;
      Optional<Duration> fakeEvaluation = BenchWorker.fakeEvaluation(config);
      WorkerNode.Started worker = null;
      if (self.hasRole("worker") && fakeEvaluation.isPresent()) {
        // kfarm bench scale-out: one simulated device per worker process, no verifier.
        system.systemActorOf(BenchWorker.create(dispatcher, fakeEvaluation.get(), 1, system.address() + "/bench",
            () -> { }), "bench-worker", org.apache.pekko.actor.typed.Props.empty());
      } else if (self.hasRole("worker")) {
        worker = WorkerNode.init(system, workerSettings, dispatcher, new WorkerMetrics(deps.metrics()));
      }
      // The API's /metrics already serves this registry (and the read-table and Dispatcher gauges): a second
      // endpoint would have Prometheus scrape the same counters twice, so the metrics port is for API-less nodes.
      // Asked here, not in MetricsServer: that class is Pekko HTTP's, absent from the GPU hosts' bundle.
      MetricsServer.Settings metricsSettings = MetricsServer.Settings.from(config);
      InetSocketAddress metrics = http == null && metricsSettings.port() != 0
          ? MetricsServer.start(system, metricsSettings, deps.metrics(), System.out).orElse(null)
          : null;
      return new Node(system, dispatcher, worker, service, http, metrics, llms);
    } catch (Exception e) {
      if (view != null) {
        view.close();
      }
      system.terminate();
      throw e instanceof RuntimeException r ? r : new IllegalStateException("node start failed: " + e, e);
    }
  }

  private static java.util.Set<String> endpointNames(Deps deps) {
    return deps.endpoints().stream().map(LlmEndpoint::name).collect(java.util.stream.Collectors.toSet());
  }

  private static Map<String, LlmClient> clients(Deps deps, ObjectMapper json) {
    Map<String, LlmClient> clients = new LinkedHashMap<>();
    LlmMetrics metrics = new LlmMetrics(deps.metrics(), endpointNames(deps));
    for (LlmEndpoint endpoint : deps.endpoints()) {
      clients.put(endpoint.name(), new LlmClient(endpoint, deps.http(), json, deps.clock(), metrics));
    }
    return clients;
  }

  private static Config withStore(Config config) {
    String url = config.getString("kernelfarm.store.url");
    String profile;
    String driver;
    if (url.startsWith("jdbc:h2:")) {
      profile = "slick.jdbc.H2Profile$";
      driver = "org.h2.Driver";
    } else if (url.startsWith("jdbc:postgresql:")) {
      profile = "slick.jdbc.PostgresProfile$";
      driver = "org.postgresql.Driver";
    } else {
      throw new IllegalArgumentException("kernelfarm.store.url: \"" + url + "\" is neither jdbc:h2: nor "
          + "jdbc:postgresql:; set KFARM_STORE_URL to e.g. jdbc:postgresql://localhost:5432/kfarm");
    }
    Map<String, Object> store = new HashMap<>();
    // Journal and snapshot writes on one pool; the read side's eventsByTag polls on a pool of its own, so a slow
    // tag query never holds up the persist that a waiting branch needs.
    pool(store, "kfarm", config, url, profile, driver, config.getInt("kernelfarm.store.max-connections"));
    pool(store, "kfarm-read", config, url, profile, driver, config.getInt("kernelfarm.coordinator.view.max-connections"));
    return ConfigFactory.parseMap(store).withFallback(config).resolve();
  }

  private static void pool(Map<String, Object> store, String name, Config config, String url, String profile,
      String driver, int connections) {
    String at = "pekko-persistence-jdbc.shared-databases." + name + ".";
    store.put(at + "profile", profile);
    store.put(at + "db.url", url);
    store.put(at + "db.user", config.getString("kernelfarm.store.user"));
    store.put(at + "db.password", config.getString("kernelfarm.store.password"));
    store.put(at + "db.driver", driver);
    store.put(at + "db.numThreads", connections);
    store.put(at + "db.maxConnections", connections);
    store.put(at + "db.minConnections", 1);
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public ActorRef<DispatcherProtocol.Command> dispatcher() {
    return dispatcher;
  }

  public Optional<WorkerNode.Started> worker() {
    return Optional.ofNullable(worker);
  }

  /** The campaign service of a coordinator node; empty on a worker-only node. */
  public Optional<CampaignService> service() {
    return Optional.ofNullable(service);
  }

  /** Where the HTTP API listens; empty on a worker-only node or with the API off. */
  public Optional<InetSocketAddress> httpAddress() {
    return Optional.ofNullable(http);
  }

  /** Where /metrics is served apart from the API (kernelfarm.metrics.port); empty where the API serves it or off. */
  public Optional<InetSocketAddress> metricsAddress() {
    return Optional.ofNullable(metrics);
  }

  /** What each of this node's LLM clients has done so far (calls, failures, failovers, peak in flight). */
  public List<LlmClient.Stats> llmStats() {
    return llms.values().stream().map(LlmClient::stats).toList();
  }

  public ObjectMapper json() {
    return json(system);
  }

  private static ObjectMapper json(ActorSystem<?> system) {
    return JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
  }

  /** Submits a campaign; completes once it is persisted. */
  public CompletionStage<Done> submit(String campaignId, CampaignSpec spec, List<Problem> problems) {
    return ClusterSharding.get(system).entityRefFor(Campaign.TYPE_KEY, campaignId)
        .askWithStatus(replyTo -> new Campaign.Submit(spec, problems, replyTo), ASK);
  }

  public CompletionStage<Campaign.Progress> progress(String campaignId) {
    return ClusterSharding.get(system).entityRefFor(Campaign.TYPE_KEY, campaignId)
        .ask(Campaign.GetProgress::new, ASK);
  }

  public CompletionStage<ProblemResult> problem(String campaignId, String problemId) {
    return ClusterSharding.get(system)
        .entityRefFor(ProblemCoordinator.TYPE_KEY, ProblemCoordinator.entityId(campaignId, problemId))
        .ask(ProblemCoordinator.GetStatus::new, ASK);
  }

  public CompletionStage<ProblemCoordinator.Rounds> rounds(String campaignId, String problemId) {
    return ClusterSharding.get(system)
        .entityRefFor(ProblemCoordinator.TYPE_KEY, ProblemCoordinator.entityId(campaignId, problemId))
        .ask(ProblemCoordinator.GetRounds::new, ASK);
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      Thread.currentThread().interrupt();
    }
  }
}
