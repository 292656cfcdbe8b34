package kernelfarm.coordinator.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.FieldError;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.campaign.SpecException;
import kernelfarm.coordinator.branch.RoundAnswer;
import kernelfarm.coordinator.problem.ProblemCoordinator;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Verdict;
import kernelfarm.coordinator.service.ServiceException.Kind;
import kernelfarm.coordinator.view.JournalReader;
import kernelfarm.coordinator.view.ViewQueries;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;

/**
 * The one way in for HTTP and the command line: turns calls into Campaign commands (submit, cancel) and read-table
 * queries (everything else), and every failure into a {@link ServiceException} that names the field and the fix.
 * It never asks an entity for a list: lists come from the read tables, which trail the journal by about a second.
 *
 * <p>Every method returns a stage that fails with a ServiceException (wrapped in a CompletionException) for the
 * caller's mistakes, and with the original exception for the infrastructure's.
 */
public final class CampaignService {
  /** Campaign ids: safe in a URL path, a file name and a log line. */
  public static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  public static final int MAX_LIMIT = 500;
  /**
   * The Dispatcher answers a status from memory at once; one that has not come in 3 s is not coming, and a
   * Prometheus scrape (10 s by default) must still finish without it.
   */
  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem<?> system;
  private final ViewQueries queries;
  private final ObjectMapper json;
  private final Set<String> endpoints;
  private final Duration askTimeout;
  private final Executor blocking;
  private final JournalReader journal;
  private final ActorRef<DispatcherProtocol.Command> dispatcher;
  private final VerdictLogs verdictLogs;

  public CampaignService(ActorSystem<?> system, ViewQueries queries, Set<String> endpoints, Duration askTimeout,
      ActorRef<DispatcherProtocol.Command> dispatcher) {
    this.system = system;
    this.dispatcher = dispatcher;
    this.queries = queries;
    this.json = ViewQueries.json(system);
    this.endpoints = Set.copyOf(endpoints);
    this.askTimeout = askTimeout;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig("kernelfarm.blocking-dispatcher"));
    this.journal = new JournalReader(system);
    this.verdictLogs = new VerdictLogs(system, askTimeout);
  }

  /** The answer to a submission. {@code problems} are the ids the campaign runs. */
  public record Submitted(String campaignId, List<String> problems) {}

  /**
   * Validates a spec, loads its problems on this node and submits the campaign; completes once it is persisted.
   * The same id with the same spec is acknowledged again; with another spec it is a CONFLICT.
   *
   * @param campaignId empty: a new UUID
   */
  public CompletionStage<Submitted> submit(Optional<String> campaignId, String specJson) {
    return CompletableFuture.supplyAsync(() -> prepare(campaignId, specJson), blocking)
        .thenCompose(prepared -> ClusterSharding.get(system).entityRefFor(Campaign.TYPE_KEY, prepared.campaignId())
            .<StatusReply<org.apache.pekko.Done>>ask(replyTo -> new Campaign.Submit(prepared.spec(),
                prepared.problems(), replyTo), askTimeout)
            .handle((reply, failure) -> {
              if (failure != null) {
                throw unavailable(failure);
              }
              if (reply.isError()) {
                throw ServiceException.of(Kind.CONFLICT, "id", reply.getError().getMessage(),
                    "submit under a new id, or leave the id out for a fresh one");
              }
              return new Submitted(prepared.campaignId(), prepared.problems().stream().map(Problem::id).toList());
            }));
  }

  private record Prepared(String campaignId, CampaignSpec spec, List<Problem> problems) {}

  private Prepared prepare(Optional<String> campaignId, String specJson) {
    String id = campaignId.orElseGet(() -> UUID.randomUUID().toString());
    checkId(id);
    CampaignSpec spec;
    try {
      spec = CampaignSpec.parse(json, specJson).validated(endpoints);
    } catch (SpecException e) {
      throw new ServiceException(Kind.BAD_INPUT, e.errors());
    }
    return new Prepared(id, spec, problems(spec.problems()));
  }

  private List<Problem> problems(CampaignSpec.ProblemSelection selection) {
    List<Problem> all;
    try {
      all = ProblemLibrary.load(Path.of(selection.source()), json).all();
    } catch (RuntimeException e) {
      throw ServiceException.of(Kind.BAD_INPUT, "problems.source", "cannot be loaded on the coordinator: "
          + firstLine(e.getMessage()), "give a folder of problem files, a KernelBench checkout or a .jsonl file "
          + "that exists on the coordinator node");
    }
    List<Problem> chosen = new ArrayList<>();
    List<FieldError> errors = new ArrayList<>();
    for (int i = 0; i < selection.ids().size(); i++) {
      String want = selection.ids().get(i);
      Optional<Problem> p = all.stream().filter(q -> q.id().equals(want) || q.name().equals(want)).findFirst();
      if (p.isEmpty()) {
        errors.add(new FieldError("problems.ids[" + i + "]", "no problem \"" + want + "\" in " + selection.source(),
            "write a problem id such as \"" + all.get(0).id() + "\" or a name such as \"" + all.get(0).name() + "\""));
      } else if (!chosen.contains(p.get())) {
        chosen.add(p.get());
      }
    }
    if (!errors.isEmpty()) {
      throw new ServiceException(Kind.BAD_INPUT, errors);
    }
    if (selection.ids().isEmpty()) {
      chosen.addAll(all);
    }
    if (!selection.levels().isEmpty()) {
      chosen.removeIf(p -> !selection.levels().contains(p.level()));
    }
    if (chosen.isEmpty()) {
      throw ServiceException.of(Kind.BAD_INPUT, "problems", "selects no problem of " + selection.source(),
          "widen problems.ids or problems.levels");
    }
    return chosen;
  }

  /**
   * Cancels a campaign: its problems stop their branches and withdraw their queued work; verdicts stay. NOT_FOUND
   * for a campaign the read tables do not list (yet), CONFLICT for one that has finished.
   */
  public CompletionStage<ViewQueries.CampaignRow> cancel(String campaignId) {
    return read(() -> queries.campaignRow(checkId(campaignId)).orElseThrow(() -> notFound("campaign", campaignId)))
        .thenCompose(row -> ClusterSharding.get(system).entityRefFor(Campaign.TYPE_KEY, campaignId)
            .<StatusReply<org.apache.pekko.Done>>ask(Campaign.Cancel::new, askTimeout)
            .handle((reply, failure) -> {
              if (failure != null) {
                throw unavailable(failure);
              }
              if (reply.isError()) {
                throw ServiceException.of(Kind.CONFLICT, "campaignId", reply.getError().getMessage(),
                    "only a running campaign can be cancelled");
              }
              return row;
            }));
  }

  public CompletionStage<ViewQueries.Page<ViewQueries.CampaignRow>> list(int offset, int limit) {
    return read(() -> queries.campaigns(offset, limit));
  }

  public CompletionStage<ViewQueries.CampaignDetail> get(String campaignId) {
    return read(() -> queries.campaign(checkId(campaignId)).orElseThrow(() -> notFound("campaign", campaignId)));
  }

  public CompletionStage<ViewQueries.Page<ViewQueries.ProblemRow>> problems(String campaignId, int offset,
      int limit) {
    return read(() -> {
      queries.campaignRow(checkId(campaignId)).orElseThrow(() -> notFound("campaign", campaignId));
      return queries.problems(campaignId, offset, limit);
    });
  }

  /** A problem with a page of its rounds (all branches, by branch then round). */
  public CompletionStage<ViewQueries.ProblemDetail> problem(String campaignId, String problemId, int offset,
      int limit) {
    return read(() -> {
      ViewQueries.ProblemRow row = queries.problem(checkId(campaignId), problemId)
          .orElseThrow(() -> notFound("problem", problemId));
      return new ViewQueries.ProblemDetail(row, queries.rounds(campaignId, problemId, offset, limit));
    });
  }

  /** One round in full: its summary from the tables, its text and verdict read back from the journal. */
  public CompletionStage<ViewQueries.RoundDetail> round(String campaignId, String problemId, int branch,
      int round) {
    return read(() -> queries.round(checkId(campaignId), problemId, branch, round)
        .orElseThrow(() -> notFound("round", branch + "/" + round)))
        .thenCompose(ref -> full(campaignId, problemId, ref));
  }

  private CompletionStage<ViewQueries.RoundDetail> full(String campaignId, String problemId,
      ViewQueries.RoundRef ref) {
    CompletionStage<Optional<Object>> verdict = ref.judgedSeq() == null
        ? CompletableFuture.completedFuture(Optional.empty())
        : journal.problemEvent(campaignId, problemId, ref.judgedSeq());
    return journal.problemEvent(campaignId, problemId, ref.answeredSeq()).thenCombine(verdict, (a, j) -> {
      ProblemCoordinator.RoundAnswered answered = a.filter(ProblemCoordinator.RoundAnswered.class::isInstance)
          .map(ProblemCoordinator.RoundAnswered.class::cast)
          .orElseThrow(() -> new IllegalStateException("journal: no answer at " + ref.answeredSeq()));
      Verdict v = j.filter(ProblemCoordinator.RoundJudged.class::isInstance)
          .map(e -> ((ProblemCoordinator.RoundJudged) e).verdict()).orElse(null);
      RoundAnswer answer = answered.answer();
      return new ViewQueries.RoundDetail(ref.row(), answer.prompt(), answer.content(), answer.reasoning(),
          answer.candidate() == null ? null : answer.candidate().source(), v);
    });
  }

  /** A candidate's source and verdict (read back from the journal) and the rounds that proposed it. */
  public CompletionStage<ViewQueries.CandidateDetail> candidate(String campaignId, String candidateId) {
    return read(() -> queries.candidate(checkId(campaignId), candidateId)
        .orElseThrow(() -> notFound("candidate", candidateId)))
        .thenCompose(ref -> full(campaignId, ref.problemId(), ref.round()).thenApply(round ->
            new ViewQueries.CandidateDetail(campaignId, ref.problemId(), candidateId, ref.status(), ref.speedup(),
                ref.judgedAt(), round.source(), round.verdict(), ref.rounds())));
  }

  /** The logs a candidate's verdict names: each stays on the worker node that made the verdict. */
  public record CandidateLogs(String campaignId, String candidateId, String node, List<LogEntry> logs) {}

  /** One of them: its index in the verdict's list (what {@link #candidateLog} takes), file name and path there. */
  public record LogEntry(int index, String name, String path) {}

  public CompletionStage<CandidateLogs> candidateLogs(String campaignId, String candidateId) {
    return candidate(campaignId, candidateId).thenApply(detail -> {
      Verdict verdict = judged(detail);
      List<LogEntry> entries = new ArrayList<>();
      for (int i = 0; i < verdict.logs().size(); i++) {
        String path = verdict.logs().get(i);
        entries.add(new LogEntry(i, java.nio.file.Path.of(path).getFileName().toString(), path));
      }
      return new CandidateLogs(campaignId, candidateId, verdict.device().nodeId(), entries);
    });
  }

  /** One log of a candidate's verdict, read from the worker node that wrote it, secrets removed. */
  public CompletionStage<String> candidateLog(String campaignId, String candidateId, int index) {
    return candidate(campaignId, candidateId).thenCompose(detail -> {
      Verdict verdict = judged(detail);
      if (index < 0 || index >= verdict.logs().size()) {
        throw ServiceException.of(Kind.NOT_FOUND, "index", "the verdict names " + verdict.logs().size()
                + " logs, numbered from 0; there is no log " + index,
            "list them with GET /api/v1/campaigns/" + campaignId + "/candidates/" + candidateId + "/logs");
      }
      return verdictLogs.read(verdict.device().nodeId(), verdict.logs().get(index));
    });
  }

  private static Verdict judged(ViewQueries.CandidateDetail detail) {
    if (detail.verdict() == null) {
      throw ServiceException.of(Kind.NOT_FOUND, "verdict", "candidate " + detail.candidateId()
          + " has no verdict yet", "ask again once it is judged (its status is set then)");
    }
    if (detail.verdict().device() == null) {
      throw ServiceException.of(Kind.NOT_FOUND, "logs", "candidate " + detail.candidateId()
          + " was judged on no worker (" + detail.verdict().summary() + "), so it has no logs", "nothing to fetch");
    }
    return detail.verdict();
  }

  public CompletionStage<ViewQueries.Leaderboard> leaderboard(String campaignId, int offset, int limit) {
    return read(() -> queries.leaderboard(checkId(campaignId), offset, limit)
        .orElseThrow(() -> notFound("campaign", campaignId)));
  }

  /**
   * The full result of every problem of a campaign that the read tables hold so far (best verdict and source
   * included): what reports and exports are written from. Empty for a campaign not projected yet.
   */
  public CompletionStage<List<ProblemResult>> results(String campaignId) {
    return read(() -> queries.results(checkId(campaignId))).thenCompose(refs -> {
      List<CompletableFuture<ProblemResult>> results = new ArrayList<>();
      Instant now = Instant.now();
      for (ViewQueries.TallyRef ref : refs) {
        String problemId = ref.tally().problemId();
        results.add(ref.bestAnsweredSeq() == null ? CompletableFuture.completedFuture(ref.tally().result(now))
            : journal.problemEvent(campaignId, problemId, ref.bestAnsweredSeq()).thenApply(e -> {
              String source = e.filter(ProblemCoordinator.RoundAnswered.class::isInstance)
                  .map(a -> ((ProblemCoordinator.RoundAnswered) a).answer().candidate())
                  .map(kernelfarm.protocol.Candidate::source).orElse(null);
              return ref.tally().withBestSource(source).result(now);
            }).toCompletableFuture());
      }
      return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
          .thenApply(done -> results.stream().map(CompletableFuture::join).toList());
    });
  }

  /**
   * How the Dispatcher's queue and the workers it hears from stand: one small message to the singleton, never a
   * walk over the cluster. UNAVAILABLE when the singleton does not answer (it is moving, or no coordinator is up).
   */
  public CompletionStage<DispatcherProtocol.FarmStatus> farm() {
    return AskPattern.<DispatcherProtocol.Command, DispatcherProtocol.FarmStatus>ask(dispatcher,
            DispatcherProtocol.GetStatus::new, STATUS_TIMEOUT, system.scheduler())
        .handle((status, failure) -> {
          if (failure != null) {
            throw ServiceException.of(Kind.UNAVAILABLE, "dispatcher", "the Dispatcher did not answer in "
                + STATUS_TIMEOUT.toSeconds() + "s",
                "retry in a few seconds; the singleton may be moving to another node");
          }
          return status;
        });
  }

  /** The read tables' queries, for callers that are already on a blocking thread (metrics scrapes). */
  public ViewQueries queries() {
    return queries;
  }

  /** Checks paging parameters; BAD_INPUT names the one that is wrong. */
  public static void checkPage(int offset, int limit) {
    if (offset < 0) {
      throw ServiceException.of(Kind.BAD_INPUT, "offset", "must be 0 or more, got " + offset,
          "write the index of the first item wanted, e.g. 0");
    }
    if (limit < 1 || limit > MAX_LIMIT) {
      throw ServiceException.of(Kind.BAD_INPUT, "limit", "must be 1 to " + MAX_LIMIT + ", got " + limit,
          "write how many items a page holds, e.g. 50");
    }
  }

  private static String checkId(String campaignId) {
    if (campaignId == null || !ID.matcher(campaignId).matches()) {
      throw ServiceException.of(Kind.BAD_INPUT, "id", "is not a campaign id: "
              + (campaignId == null ? "null" : "\"" + abbreviate(campaignId) + "\""),
          "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    return campaignId;
  }

  private static ServiceException notFound(String what, String id) {
    return ServiceException.of(Kind.NOT_FOUND, what, "no " + what + " \"" + abbreviate(id) + "\"",
        "list what exists with GET /api/v1/campaigns; a campaign submitted a moment ago is listed within seconds");
  }

  private static ServiceException unavailable(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    if (cause instanceof ServiceException s) {
      return s;
    }
    String why = cause instanceof TimeoutException ? "the campaign did not answer in time"
        : "the cluster could not reach the campaign: " + cause.getClass().getSimpleName();
    return ServiceException.of(Kind.UNAVAILABLE, "cluster", why, "retry in a few seconds");
  }

  private interface Query<T> {
    T run() throws SQLException;
  }

  private <T> CompletionStage<T> read(Query<T> query) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return query.run();
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "…";
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
