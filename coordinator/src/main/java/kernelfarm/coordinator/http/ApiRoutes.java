package kernelfarm.coordinator.http;

import static org.apache.pekko.http.javadsl.server.PathMatchers.integerSegment;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.StreamSupport;
import kernelfarm.coordinator.campaign.CampaignExports;
import kernelfarm.coordinator.campaign.FieldError;
import kernelfarm.coordinator.service.CampaignService;
import kernelfarm.coordinator.service.ServiceException;
import kernelfarm.coordinator.service.ServiceException.Kind;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's HTTP API, version 1: JSON in and out, with the cluster's Jackson setup. Reads come from the
 * read tables through {@link CampaignService}; POSTs need the bearer token. Every error is a JSON body
 * {@code {"status": 400, "errors": [{"field", "problem", "fix"}]}}: 400 for bad input, 401 without the token, 404
 * for unknown ids and paths, 405/406/413/415 as HTTP says, 409 for conflicts, 503 when the cluster does not answer;
 * a 500 means a bug here and never comes from bad input. Lists take {@code offset} and {@code limit}.
 *
 * <pre>
 * curl -s localhost:8480/api/v1/campaigns
 * curl -s -H "Authorization: Bearer $KFARM_API_TOKEN" -d @spec.json localhost:8480/api/v1/campaigns?id=nightly
 * curl -s localhost:8480/api/v1/campaigns/nightly/leaderboard
 * curl -s localhost:8480/api/v1/campaigns/nightly/results
 * curl -s localhost:8480/api/v1/campaigns/nightly/exports/eval_results.json
 * curl -s localhost:8480/api/v1/campaigns/nightly/problems/level1%2F19_ReLU?limit=20
 * curl -s localhost:8480/api/v1/campaigns/nightly/problems/level1%2F19_ReLU/rounds/0/1
 * curl -s localhost:8480/api/v1/campaigns/nightly/candidates/CANDIDATE_ID
 * curl -s -X POST -H "Authorization: Bearer $KFARM_API_TOKEN" localhost:8480/api/v1/campaigns/nightly/cancel
 * curl -s localhost:8480/api/v1/cluster/members
 * curl -s localhost:8480/api/v1/cluster/status
 * curl -sN localhost:8480/api/v1/campaigns/nightly/events
 * curl -sN localhost:8480/api/v1/events/cluster
 * open http://localhost:8480/dashboard/
 * curl -s localhost:8480/api/v1/openapi.json
 * curl -s localhost:8480/metrics
 * </pre>
 */
public final class ApiRoutes extends AllDirectives {
  private static final Logger LOG = LoggerFactory.getLogger(ApiRoutes.class);
  private static final int DEFAULT_LIMIT = 50;

  private final ActorSystem<?> system;
  private final CampaignService service;
  private final ObjectMapper json;
  private final ApiToken token;
  private final boolean readsNeedToken;
  private final long maxBody;
  private final byte[] openApi;
  private final NodeMetrics metrics;
  private final java.util.concurrent.Executor blocking;
  private final Duration liveEvery;
  private final Dashboard dashboard;

  public ApiRoutes(ActorSystem<?> system, CampaignService service, ObjectMapper json, ApiToken token,
      boolean readsNeedToken, long maxBody, Duration liveEvery, PrometheusRegistry registry, int metricsCampaigns) {
    this.metrics = new NodeMetrics(registry, service.queries(), metricsCampaigns);
    this.liveEvery = liveEvery;
    this.dashboard = new Dashboard();
    this.blocking = system.dispatchers().lookup(
        org.apache.pekko.actor.typed.DispatcherSelector.fromConfig("kernelfarm.blocking-dispatcher"));
    this.system = system;
    this.service = service;
    this.json = json;
    this.token = token;
    this.readsNeedToken = readsNeedToken;
    this.maxBody = maxBody;
    try (InputStream in = ApiRoutes.class.getResourceAsStream("openapi.json")) {
      if (in == null) {
        throw new IllegalStateException("openapi.json is missing from the coordinator's jar");
      }
      this.openApi = in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("openapi.json cannot be read", e);
    }
  }

  /** Every route, with JSON errors for rejections and exceptions. Tests bind this on port 0. */
  public Route routes() {
    return handleExceptions(exceptions(), () -> handleRejections(rejections(), () -> concat(
        path("metrics", () -> get(() -> reading(this::metrics))),
        // The pages and scripts hold no data (it comes from the API below, token and all), so they are open.
        pathSingleSlash(() -> get(() -> redirect(Uri.create("/dashboard/"), StatusCodes.SEE_OTHER))),
        pathPrefix("dashboard", () -> get(dashboard::routes)),
        pathPrefix("api", () -> pathPrefix("v1", () -> concat(
            path("openapi.json", () -> get(() -> complete(HttpResponse.create()
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, openApi))))),
            path(segment("cluster").slash("members"), () -> get(() -> reading(this::members))),
            path(segment("cluster").slash("status"), () -> get(() -> reading(() -> respond(this::clusterStatus)))),
            pathPrefix("events", () -> concat(
                path("cluster", () -> get(() -> reading(() -> live(this::clusterStatus)))),
                path("campaigns", () -> get(() -> reading(() -> live(() -> service.list(0, DEFAULT_LIMIT))))))),
            pathPrefix("campaigns", () -> concat(
                pathEnd(() -> concat(
                    get(() -> reading(() -> page((offset, limit) -> service.list(offset, limit)))),
                    post(() -> writing(this::submit)))),
                pathPrefix(segment(), this::campaign)))))))));
  }

  /** Prometheus text format; the scrape reads the read tables, so it runs on the blocking dispatcher. */
  private Route metrics() {
    ContentType type = ContentTypes.parse(NodeMetrics.contentType());
    // The Dispatcher's figures come with the scrape; if it does not answer, its gauges are left out.
    return completeWithFuture(service.farm().handle((farm, failure) -> farm)
        .thenApplyAsync(farm -> {
          metrics.farm(farm);
          return metrics.scrape();
        }, blocking)
        .handle((bytes, failure) -> failure == null
            ? HttpResponse.create().withEntity(HttpEntities.create(type, bytes)) : errorResponse(failure)));
  }

  private Route campaign(String id) {
    return concat(
        pathEnd(() -> get(() -> reading(() -> respond(() -> service.get(id))))),
        path("events", () -> get(() -> reading(() -> live(() -> campaignView(id))))),
        path("cancel", () -> post(() -> writing(() -> respond(() -> service.cancel(id), StatusCodes.ACCEPTED)))),
        path("leaderboard", () -> get(() -> reading(() ->
            page((offset, limit) -> service.leaderboard(id, offset, limit))))),
        path("results", () -> get(() -> reading(() -> respond(() -> service.get(id).thenCombine(
            service.results(id), (detail, results) -> CampaignExports.results(json, id, detail.spec(), results)))))),
        path(segment("exports").slash("eval_results.json"), () -> get(() -> reading(() -> respond(() ->
            service.get(id).thenCombine(service.results(id), (detail, results) ->
                CampaignExports.evalResults(json, CampaignExports.kernelBenchSamples(results))))))),
        pathPrefix(segment("candidates").slash(segment()), candidate -> concat(
            pathEnd(() -> get(() -> reading(() -> respond(() -> service.candidate(id, candidate))))),
            path("logs", () -> get(() -> reading(() -> respond(() -> service.candidateLogs(id, candidate))))),
            path(segment("logs").slash(integerSegment()), index -> get(() -> reading(() ->
                respondText(() -> service.candidateLog(id, candidate, index))))))),
        pathPrefix("problems", () -> concat(
            pathEnd(() -> get(() -> reading(() -> page((offset, limit) -> service.problems(id, offset, limit))))),
            pathPrefix(segment(), problem -> concat(
                pathEnd(() -> get(() -> reading(() ->
                    page((offset, limit) -> service.problem(id, problem, offset, limit))))),
                path("events", () -> get(() -> reading(() ->
                    live(() -> service.problem(id, problem, 0, CampaignService.MAX_LIMIT))))),
                path(segment("rounds").slash(integerSegment()).slash(integerSegment()), (branch, round) ->
                    get(() -> reading(() -> respond(() -> service.round(id, problem, branch, round))))))))));
  }

  private Route submit() {
    return withSizeLimit(maxBody, () -> parameterOptional("id", id ->
        entity(Unmarshaller.entityToString(), body ->
            respond(() -> service.submit(id, body), StatusCodes.CREATED))));
  }

  private Route members() {
    ObjectNode body = json.createObjectNode();
    body.set("members", memberList());
    return complete(jsonResponse(StatusCodes.OK, body));
  }

  private ArrayNode memberList() {
    ArrayNode out = json.createArrayNode();
    for (Member m : Cluster.get(system).state().getMembers()) {
      ObjectNode node = out.addObject();
      node.put("address", m.address().toString());
      node.put("status", m.status().toString());
      ArrayNode roles = node.putArray("roles");
      StreamSupport.stream(m.getRoles().spliterator(), false).filter(r -> !r.startsWith("dc-")).sorted()
          .forEach(roles::add);
      node.put("reachable", Cluster.get(system).state().getUnreachable().stream().noneMatch(u -> u.equals(m)));
    }
    return out;
  }

  /**
   * The Cluster page's data: members, and the Dispatcher's queue and workers. Members still come when the
   * Dispatcher does not answer ({@code farm} null, {@code farmError} saying why): that is when an operator looks.
   */
  private CompletionStage<ObjectNode> clusterStatus() {
    return service.farm().handle((farm, failure) -> {
      ObjectNode body = json.createObjectNode();
      body.set("members", memberList());
      com.fasterxml.jackson.databind.JsonNode farmNode = json.valueToTree(farm);
      if (farm != null) {
        // The state by the rule /metrics uses, so the dashboard, the CLI and Prometheus never disagree.
        for (int i = 0; i < farm.workers().size(); i++) {
          ((ObjectNode) farmNode.path("workers").get(i)).put("state",
              NodeMetrics.stateOf(farm.workers().get(i)).name());
        }
      }
      body.set("farm", farmNode);
      if (failure != null) {
        body.set("farmError", json.valueToTree(errorBody(failure)));
      }
      return body;
    });
  }

  /** The Campaign page's data: the campaign's figures and its problems (up to the largest page). */
  private CompletionStage<Map<String, Object>> campaignView(String id) {
    return service.get(id).thenCombine(service.problems(id, 0, CampaignService.MAX_LIMIT),
        (campaign, problems) -> Map.of("campaign", campaign, "problems", problems));
  }

  /**
   * Server-Sent Events for the dashboard: the snapshot every {@code live-every}, sent only when it changed (a
   * heartbeat keeps idle connections open). Each open page costs one read-table query per tick, never an entity
   * ask. A failed snapshot (a campaign not projected yet, a Dispatcher moving) is an {@code error} event with the
   * usual JSON error, and the stream goes on.
   */
  private Route live(Supplier<CompletionStage<?>> snapshot) {
    AtomicReference<String> last = new AtomicReference<>();
    Source<ServerSentEvent, NotUsed> events = Source.tick(Duration.ZERO, liveEvery, "tick")
        .mapAsync(1, tick -> liveEvent(snapshot))
        .filter(event -> !event.equals(last.getAndSet(event)))
        .map(event -> event.startsWith("E") ? ServerSentEvent.create(event.substring(1), "error")
            : ServerSentEvent.create(event.substring(1), "snapshot"))
        .keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat)
        .mapMaterializedValue(cancellable -> NotUsed.getInstance());
    return completeOK(events, EventStreamMarshalling.toEventStream());
  }

  /** One snapshot as JSON, prefixed S (snapshot) or E (error), so that equal snapshots compare equal. */
  private CompletionStage<String> liveEvent(Supplier<CompletionStage<?>> snapshot) {
    CompletionStage<?> stage;
    try {
      stage = snapshot.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return stage.handle((value, failure) -> failure == null ? "S" + new String(jsonBytes(value),
        java.nio.charset.StandardCharsets.UTF_8) : "E" + new String(jsonBytes(errorBody(failure)),
        java.nio.charset.StandardCharsets.UTF_8));
  }

  /** A paged list: {@code offset} (default 0) and {@code limit} (default 50, at most 500) checked first. */
  private Route page(PagedCall call) {
    return parameterOptional("offset", offset -> parameterOptional("limit", limit -> respond(() -> {
      int o = intParameter("offset", offset, 0);
      int l = intParameter("limit", limit, DEFAULT_LIMIT);
      CampaignService.checkPage(o, l);
      return call.page(o, l);
    })));
  }

  private interface PagedCall {
    CompletionStage<?> page(int offset, int limit);
  }

  private static int intParameter(String name, Optional<String> value, int otherwise) {
    if (value.isEmpty()) {
      return otherwise;
    }
    try {
      return Integer.parseInt(value.get());
    } catch (NumberFormatException e) {
      String shown = value.get().length() > 40 ? value.get().substring(0, 40) + "…" : value.get();
      throw ServiceException.of(Kind.BAD_INPUT, name, "must be a whole number, got \"" + shown + "\"",
          "write e.g. " + name + "=" + otherwise);
    }
  }

  private Route respond(Supplier<CompletionStage<?>> call) {
    return respond(call, StatusCodes.OK);
  }

  /** Completes with the call's value as JSON, or with the JSON error its failure maps to. */
  private Route respond(Supplier<CompletionStage<?>> call, StatusCode ok) {
    CompletionStage<?> stage;
    try {
      stage = call.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return completeWithFuture(stage.handle((value, failure) ->
        failure == null ? jsonResponse(ok, value) : errorResponse(failure)));
  }

  /** Completes with the call's text as text/plain (a log), or with the JSON error its failure maps to. */
  private Route respondText(Supplier<CompletionStage<String>> call) {
    CompletionStage<String> stage;
    try {
      stage = call.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return completeWithFuture(stage.handle((text, failure) -> failure == null
        ? HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, text))
        : errorResponse(failure)));
  }

  private Route writing(Supplier<Route> inner) {
    return authorized(inner);
  }

  private Route reading(Supplier<Route> inner) {
    return readsNeedToken ? authorized(inner) : inner.get();
  }

  private Route authorized(Supplier<Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      if (token.admits(header)) {
        return inner.get();
      }
      FieldError error = new FieldError("Authorization", header.isEmpty() ? "missing" : "is not the API token",
          "send \"Authorization: Bearer <token>\" with the token from KFARM_API_TOKEN or the token file");
      return complete(errorResponse(StatusCodes.UNAUTHORIZED, List.of(error))
          .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "kfarm"))));
    });
  }

  private HttpResponse errorResponse(Throwable failure) {
    Map<String, Object> body = errorBody(failure);
    return jsonResponse(StatusCodes.get((Integer) body.get("status")), body);
  }

  /** The JSON error a failure maps to: {@code {"status", "errors"}}. A status of 500 is logged: it is our bug. */
  private Map<String, Object> errorBody(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    StatusCode status;
    List<FieldError> errors;
    if (cause instanceof ServiceException s) {
      status = switch (s.kind()) {
        case BAD_INPUT -> StatusCodes.BAD_REQUEST;
        case NOT_FOUND -> StatusCodes.NOT_FOUND;
        case CONFLICT -> StatusCodes.CONFLICT;
        case UNAVAILABLE -> StatusCodes.SERVICE_UNAVAILABLE;
      };
      errors = s.errors();
    } else if (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamSizeException) {
      status = StatusCodes.PAYLOAD_TOO_LARGE;
      errors = List.of(new FieldError("body",
          "is larger than " + maxBody + " bytes", "send a smaller body; a campaign spec is a few kilobytes"));
    } else if (cause instanceof org.apache.pekko.http.scaladsl.model.IllegalRequestException bad) {
      status = StatusCodes.get(bad.status().intValue());
      errors = List.of(new FieldError("request",
          bad.info().summary(), "correct the request (see GET /api/v1/openapi.json)"));
    } else {
      LOG.atError().addKeyValue("error", cause.toString()).setCause(cause).log("HTTP API request failed");
      status = StatusCodes.INTERNAL_SERVER_ERROR;
      errors = List.of(new FieldError("server",
          "failed: " + cause.getClass().getSimpleName(), "retry; if it persists, the coordinator's log says why"));
    }
    return Map.of("status", status.intValue(), "errors", errors);
  }

  private HttpResponse errorResponse(StatusCode status, List<FieldError> errors) {
    return jsonResponse(status, Map.of("status", status.intValue(), "errors", errors));
  }

  private HttpResponse jsonResponse(StatusCode status, Object value) {
    try {
      return HttpResponse.create().withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(value)));
    } catch (IOException e) {
      throw new IllegalStateException("cannot write a response as JSON", e);
    }
  }

  private ExceptionHandler exceptions() {
    return ExceptionHandler.newBuilder()
        .match(Throwable.class, e -> complete(errorResponse(e)))
        .build();
  }

  /** Pekko's own answers (405, 413, 415, a bad header or query...) with the JSON error body. */
  private RejectionHandler rejections() {
    return RejectionHandler.defaultHandler().mapRejectionResponse(response -> {
      if (response.entity() instanceof HttpEntity.Strict strict
          && !strict.getContentType().equals(ContentTypes.APPLICATION_JSON)) {
        String text = strict.getData().utf8String();
        return response.withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
            jsonBytes(Map.of("status", response.status().intValue(), "errors", List.of(new FieldError("request",
                text.isBlank() ? response.status().reason() : text, fixFor(response.status().intValue())))))));
      }
      return response;
    }).seal();
  }

  private static String fixFor(int status) {
    return switch (status) {
      case 404 -> "see GET /api/v1/openapi.json for the paths this API serves";
      case 405 -> "use the method the path allows (see GET /api/v1/openapi.json)";
      case 413 -> "send a smaller body";
      case 415 -> "send JSON (Content-Type: application/json)";
      default -> "correct the request (see GET /api/v1/openapi.json)";
    };
  }

  private byte[] jsonBytes(Object value) {
    try {
      return json.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write a response as JSON", e);
    }
  }
}
