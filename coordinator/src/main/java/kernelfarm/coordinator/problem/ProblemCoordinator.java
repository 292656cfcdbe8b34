package kernelfarm.coordinator.problem;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import kernelfarm.coordinator.branch.Branch;
import kernelfarm.coordinator.branch.RoundAnswer;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.CoordinatorEntities;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.campaign.SearchServices;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.llm.LlmPool;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One problem of one campaign: runs its reasoning branches for the campaign's time budget, sends every candidate
 * to the farm and every verdict back to its branch, and keeps the best. A sharded, event-sourced entity: every
 * answer and every verdict is persisted before anything acts on it, so a restart (of this node or the whole
 * cluster) resumes the same rounds, resubmits the candidates still open, and never asks the model again for a
 * round it answered.
 *
 * <p>The time budget runs from the problem's start in wall-clock time, also while the node is down: a campaign
 * that promised 15 minutes per problem does not run for hours because a node restarted. At the deadline the
 * branches stop (answers still in flight are dropped) and the best so far stands.
 */
public final class ProblemCoordinator
    extends EventSourcedBehaviorWithEnforcedReplies<ProblemCoordinator.Command, ProblemCoordinator.Event,
        ProblemCoordinator.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "ProblemCoordinator");

  /** The finish reason of a problem whose campaign was cancelled. */
  public static final String CANCELLED = "cancelled";

  public sealed interface Command extends CborSerializable {}

  /**
   * Start (or keep running) this problem. Sent by its Campaign, again after the campaign recovers and until the
   * problem reports back; a repeat is safe and, once finished, makes the problem send its result again.
   */
  public record Start(String campaignId, Problem problem, CampaignSpec spec, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /** Where the problem stands; answered at once. */
  public record GetStatus(ActorRef<ProblemResult> replyTo) implements Command {}

  /** Every round so far, branch by branch, oldest first; answered at once. */
  public record GetRounds(ActorRef<Rounds> replyTo) implements Command {}

  /**
   * Stop this problem: its branches stop, its queued candidates leave the Dispatcher, answers and verdicts still in
   * flight are dropped, and every verdict already persisted stays. Carries what Start carries, so a problem that
   * never started is recorded as cancelled rather than left unknown. Then reports to its campaign as a finished
   * problem does; a repeat, or a Cancel after the problem finished, only reports again.
   */
  public record Cancel(String campaignId, Problem problem, CampaignSpec spec) implements Command {}

  /** The reply to {@link GetRounds}. */
  public record Rounds(List<RoundView> rounds) implements CborSerializable {
    public Rounds {
      rounds = List.copyOf(rounds);
    }
  }

  /**
   * One persisted round.
   *
   * @param branch from 0
   * @param round from 1
   * @param verdict null for an answer without code and while the candidate is being verified
   * @param restartedFrom when the top-k rule restarted the branch after this round: the {branch, round} whose
   *     candidate it restarted from; else null
   */
  public record RoundView(int branch, int round, RoundAnswer answer, Verdict verdict, List<Integer> restartedFrom)
      implements CborSerializable {}

  private record FromBranch(Branch.Report report) implements Command {}

  private record VerdictArrived(DispatcherProtocol.VerdictReady ready) implements Command {}

  private record StopRuleMet(String reason) implements Command {}

  private enum DeadlineReached implements Command { INSTANCE }

  private enum Resubmit implements Command { INSTANCE }

  public sealed interface Event extends CborSerializable {}

  public record ProblemStarted(String campaignId, Problem problem, CampaignSpec spec, Instant at) implements Event {}

  public record RoundAnswered(int branch, int round, RoundAnswer answer, Instant at) implements Event {}

  public record RoundJudged(int branch, int round, Verdict verdict, Instant at) implements Event {}

  public record ProblemFinished(String reason, Instant at) implements Event {}

  /** The top-k rule restarted {@code branch} after {@code afterRound} from another branch's candidate. */
  public record BranchRestarted(int branch, int afterRound, int fromBranch, int fromRound, Instant at)
      implements Event {}

  /** One round as persisted; {@code verdict} stays null for an answer with no code and until the verdict comes. */
  static final class Round {
    final RoundAnswer answer;
    final Instant answeredAt;
    Verdict verdict;
    Instant judgedAt;
    /** Set when the top-k rule restarted the branch after this round: {branch, round} it restarted from. */
    int[] restartFrom;

    Round(RoundAnswer answer, Instant answeredAt) {
      this.answer = answer;
      this.answeredAt = answeredAt;
    }

    boolean open() {
      return answer.candidate() != null && verdict == null;
    }
  }

  /** Mutable, and owned by this entity alone: replies carry immutable ProblemResults built from it. */
  static final class State {
    String campaignId;
    Problem problem;
    CampaignSpec spec;
    Instant startedAt;
    final Map<Integer, List<Round>> branches = new TreeMap<>();
    String finishReason;
    Instant finishedAt;
    /** The score, updated by the same events: what status queries and the read side report. */
    ProblemTally tally = ProblemTally.empty();

    boolean started() {
      return problem != null;
    }

    boolean finished() {
      return finishReason != null;
    }

    List<Round> rounds(int branch) {
      return branches.computeIfAbsent(branch, b -> new ArrayList<>());
    }
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final SearchServices services;
  private final ActorRef<Branch.Report> branchReports;
  private final ActorRef<DispatcherProtocol.VerdictReady> verdicts;
  private final Map<Integer, ActorRef<Branch.Command>> running = new HashMap<>();
  private final String tag;
  private int exhausted;

  private ProblemCoordinator(String entityId, ActorContext<Command> ctx, TimerScheduler<Command> timers,
      SearchServices services) {
    super(PersistenceId.of(TYPE_KEY.name(), entityId),
        CoordinatorEntities.ON_PERSIST_FAILURE);
    this.tag = CoordinatorEntities.tagFor(persistenceId().id());
    this.ctx = ctx;
    this.timers = timers;
    this.services = services;
    this.branchReports = ctx.messageAdapter(Branch.Report.class, FromBranch::new);
    this.verdicts = ctx.messageAdapter(DispatcherProtocol.VerdictReady.class, VerdictArrived::new);
  }

  /** The entity id of a problem of a campaign. */
  public static String entityId(String campaignId, String problemId) {
    return campaignId + "~" + problemId;
  }

  public static Behavior<Command> create(String entityId, SearchServices services) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new ProblemCoordinator(entityId, ctx, timers, services)));
  }

  /** How campaigns reach this entity: through sharding, by {@link #entityId}. */
  public static Campaign.Problems problems(ActorSystem<?> system) {
    ClusterSharding sharding = ClusterSharding.get(system);
    return new Campaign.Problems() {
      @Override
      public void start(String campaignId, Problem problem, CampaignSpec spec, ActorRef<StatusReply<Done>> replyTo) {
        sharding.entityRefFor(TYPE_KEY, entityId(campaignId, problem.id()))
            .tell(new Start(campaignId, problem, spec, replyTo));
      }

      @Override
      public void cancel(String campaignId, Problem problem, CampaignSpec spec) {
        sharding.entityRefFor(TYPE_KEY, entityId(campaignId, problem.id())).tell(new Cancel(campaignId, problem, spec));
      }
    };
  }

  /**
   * Registers the entity on coordinator nodes. Remembered, so a node or cluster restart brings running problems
   * back without waiting for their campaign, and never passivated while its branches wait on slow models.
   */
  public static void init(ActorSystem<?> system, SearchServices services) {
    CoordinatorEntities.init(system, TYPE_KEY, id -> create(id, services));
  }

  @Override
  public State emptyState() {
    return new State();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Start.class, this::onStart)
        .onCommand(GetStatus.class, (state, get) -> Effect().reply(get.replyTo(), result(state, services.clock().instant())))
        .onCommand(GetRounds.class, (state, get) -> Effect().reply(get.replyTo(), rounds(state)))
        .onCommand(FromBranch.class, this::onFromBranch)
        .onCommand(VerdictArrived.class, this::onVerdict)
        .onCommand(StopRuleMet.class, (state, met) -> finish(state, met.reason()))
        .onCommand(DeadlineReached.class, (state, d) -> finish(state, "time budget spent"))
        .onCommand(Resubmit.class, this::onResubmit)
        .onCommand(Cancel.class, this::onCancel)
        .build();
  }

  private ReplyEffect<Event, State> onStart(State state, Start start) {
    if (state.started()) {
      if (state.finished()) {
        reportTo(state);
      }
      return Effect().reply(start.replyTo(), StatusReply.ack());
    }
    return Effect().persist(new ProblemStarted(start.campaignId(), start.problem(), start.spec(),
            services.clock().instant()))
        .thenRun(this::run)
        .thenReply(start.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onCancel(State state, Cancel cancel) {
    if (!state.started()) {
      Instant now = services.clock().instant();
      return Effect().persist(List.of(new ProblemStarted(cancel.campaignId(), cancel.problem(), cancel.spec(), now),
              new ProblemFinished(CANCELLED, now)))
          .thenRun(this::reportTo)
          .thenNoReply();
    }
    if (state.finished()) {
      reportTo(state);
      return Effect().none().thenNoReply();
    }
    return finish(state, CANCELLED);
  }

  private ReplyEffect<Event, State> onFromBranch(State state, FromBranch from) {
    if (state.finished()) {
      return Effect().none().thenNoReply();
    }
    if (from.report() instanceof Branch.AnswerReady ready) {
      return onAnswer(state, ready);
    }
    if (from.report() instanceof Branch.EndpointsUnreachable down) {
      // A problem that has never had an answer would only spend its budget retrying a dead address: end it with
      // the reason. Once any round was answered, the endpoints worked, so an outage is waited out instead.
      boolean neverAnswered = state.branches.values().stream().allMatch(List::isEmpty);
      return neverAnswered ? finish(state, "no LLM endpoint is reachable: " + down.reason())
          : Effect().none().thenNoReply();
    }
    Branch.Exhausted done = (Branch.Exhausted) from.report();
    running.remove(done.branch());
    exhausted++;
    return exhausted >= state.spec.search().branches()
        ? finish(state, "every branch spent its rounds") : Effect().none().thenNoReply();
  }

  private ReplyEffect<Event, State> onAnswer(State state, Branch.AnswerReady ready) {
    if (state.rounds(ready.branch()).size() >= ready.round()) {
      return Effect().none().thenNoReply(); // a repeat: the round is already recorded
    }
    return Effect().persist(new RoundAnswered(ready.branch(), ready.round(), ready.answer(),
            services.clock().instant()))
        .thenRun(s -> {
          services.metrics().round(ready.answer().endpoint(), ready.answer().promptTokens(),
              ready.answer().completionTokens(),
              ready.answer().costUsd());
          if (ready.answer().candidate() == null) {
            close(ready.branch(), ready.round(), null, null);
          } else {
            submit(s, ready.answer());
          }
        })
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onVerdict(State state, VerdictArrived arrived) {
    Verdict verdict = arrived.ready().verdict();
    if (state.finished()) {
      return Effect().none().thenNoReply();
    }
    Instant now = services.clock().instant();
    List<Event> judged = new ArrayList<>();
    state.branches.forEach((branch, rounds) -> {
      for (int i = 0; i < rounds.size(); i++) {
        Round round = rounds.get(i);
        if (round.open() && round.answer.candidate().id().equals(verdict.candidateId())) {
          judged.add(new RoundJudged(branch, i + 1, verdict, now));
        }
      }
    });
    if (judged.isEmpty()) {
      return Effect().none().thenNoReply();
    }
    String stop = stopReason(state.spec.search(), verdict);
    List<Event> events = new ArrayList<>(judged);
    for (Event e : judged) {
      RoundJudged j = (RoundJudged) e;
      int[] from = restartFor(state, j.branch(), j.round(), verdict);
      if (from != null) {
        events.add(new BranchRestarted(j.branch(), j.round(), from[0], from[1], now));
      }
    }
    return Effect().persist(events)
        .thenRun(s -> {
          for (Event e : judged) {
            RoundJudged j = (RoundJudged) e;
            services.metrics().verdict(j.verdict());
            Round round = s.rounds(j.branch()).get(j.round() - 1);
            close(j.branch(), j.round(), j.verdict(), restartPoint(s, round));
          }
          if (stop != null) {
            ctx.getSelf().tell(new StopRuleMet(stop));
          }
        })
        .thenNoReply();
  }

  /**
   * DESIGN.md's top-k rule: every {@code restartEveryRounds} rounds, a branch that holds none of the problem's k
   * best correct candidates starts over from one of them (branches spread over the k). Null: carry on.
   */
  private static int[] restartFor(State state, int branch, int round, Verdict verdict) {
    CampaignSpec.Search search = state.spec.search();
    if (search.topK() <= 0 || search.restartEveryRounds() <= 0 || round % search.restartEveryRounds() != 0
        || round >= search.rounds()) {
      return null;
    }
    record Ranked(int branch, int round, double speedup, String candidate) {}
    List<Ranked> ranked = new ArrayList<>();
    state.branches.forEach((b, rounds) -> {
      for (int i = 0; i < rounds.size(); i++) {
        Verdict v = b == branch && i + 1 == round ? verdict : rounds.get(i).verdict;
        Double s = v == null ? null : speedup(v);
        if (s != null) {
          ranked.add(new Ranked(b, i + 1, s, v.candidateId().value()));
        }
      }
    });
    ranked.sort((a, b) -> Double.compare(b.speedup(), a.speedup()));
    List<Ranked> top = new ArrayList<>();
    for (Ranked r : ranked) {
      if (top.size() < search.topK() && top.stream().noneMatch(t -> t.candidate().equals(r.candidate()))) {
        top.add(r);
      }
    }
    if (top.isEmpty() || top.stream().anyMatch(t -> t.branch() == branch)) {
      return null;
    }
    Ranked from = top.get(branch % top.size());
    return new int[] {from.branch(), from.round()};
  }

  private static Branch.PastRound restartPoint(State state, Round round) {
    if (round.restartFrom == null) {
      return null;
    }
    Round from = state.rounds(round.restartFrom[0]).get(round.restartFrom[1] - 1);
    return new Branch.PastRound(from.answer, from.verdict);
  }

  private static String stopReason(CampaignSpec.Search search, Verdict verdict) {
    if (!verdict.correct()) {
      return null;
    }
    return switch (search.stopRule()) {
      case FIRST_CORRECT -> "first correct candidate found";
      case TARGET_SPEEDUP -> verdict.timing() != null && verdict.timing().speedup() != null
          && verdict.timing().speedup() >= search.targetSpeedup()
          ? "target speedup " + search.targetSpeedup() + "x reached" : null;
      case SPEND_BUDGET -> null;
    };
  }

  private ReplyEffect<Event, State> onResubmit(State state, Resubmit resubmit) {
    if (!state.finished()) {
      state.branches.values().forEach(rounds -> rounds.stream().filter(Round::open)
          .forEach(r -> submit(state, r.answer)));
    }
    return Effect().none().thenNoReply();
  }

  private ReplyEffect<Event, State> finish(State state, String reason) {
    if (state.finished() || !state.started()) {
      return Effect().none().thenNoReply();
    }
    return Effect().persist(new ProblemFinished(reason, services.clock().instant()))
        .thenRun(s -> {
          running.values().forEach(ctx::stop);
          running.clear();
          timers.cancelAll();
          // In-flight work is cancelled: queued candidates leave the Dispatcher; answers in flight are dropped.
          s.branches.values().forEach(rounds -> rounds.stream().filter(Round::open)
              .forEach(r -> services.dispatcher().tell(new DispatcherProtocol.Withdraw(r.answer.candidate().id(),
                  s.spec.verify(), verdicts))));
          ctx.getLog().atInfo().addKeyValue("problem", s.problem.id()).addKeyValue("reason", reason)
              .log("problem finished");
          reportTo(s);
        })
        .thenNoReply();
  }

  /** Spawns the branches from what was persisted, resubmits open candidates and arms the deadline. */
  private void run(State state) {
    if (!state.started() || state.finished()) {
      return;
    }
    CampaignSpec spec = state.spec;
    Duration left = Duration.between(services.clock().instant(), state.startedAt.plus(spec.search().timeBudget()));
    if (left.isNegative() || left.isZero()) {
      ctx.getSelf().tell(DeadlineReached.INSTANCE);
      return;
    }
    timers.startSingleTimer(DeadlineReached.INSTANCE, left);
    timers.startTimerWithFixedDelay(Resubmit.INSTANCE, services.settings().resubmitEvery());
    List<LlmClient> clients = new ArrayList<>();
    for (String endpoint : spec.endpoints()) {
      LlmClient client = services.llm(endpoint).orElse(null);
      if (client == null) {
        ctx.getLog().atError().addKeyValue("problem", state.problem.id()).addKeyValue("endpoint", endpoint)
            .log("LLM endpoint not configured on this coordinator node; configure it on every coordinator node");
        ctx.getSelf().tell(new StopRuleMet("LLM endpoint " + endpoint + " is not configured on this node"));
        return;
      }
      clients.add(client);
    }
    // Every branch asks through the one pool, so calls go wherever capacity is free, not to a fixed endpoint.
    LlmPool llm = new LlmPool(clients);
    for (int b = 0; b < spec.search().branches(); b++) {
      List<Branch.PastRound> past = state.rounds(b).stream()
          .map(r -> new Branch.PastRound(r.answer, r.verdict, restartPoint(state, r))).toList();
      Branch.Setup setup = new Branch.Setup(b, state.problem.id(), state.problem.source(), spec.backend(),
          spec.sampling(), spec.search().rounds(), llm, services.templates(),
          services.settings().historyFullRounds(), services.settings().historyMaxChars());
      running.put(b, ctx.spawn(Branch.create(setup, past, branchReports), "branch-" + b));
    }
    ctx.getSelf().tell(Resubmit.INSTANCE);
  }

  private void submit(State state, RoundAnswer answer) {
    services.dispatcher().tell(new DispatcherProtocol.SubmitCandidate(answer.candidate(), state.problem,
        state.spec.verify(), verdicts, ctx.getSystem().ignoreRef()));
  }

  private void close(int branch, int round, Verdict verdict, Branch.PastRound restartFrom) {
    ActorRef<Branch.Command> ref = running.get(branch);
    if (ref != null) {
      ref.tell(new Branch.RoundClosed(round, verdict, restartFrom));
    }
  }

  private void reportTo(State state) {
    ClusterSharding.get(ctx.getSystem()).entityRefFor(Campaign.TYPE_KEY, state.campaignId)
        .tell(new Campaign.ProblemDone(result(state, services.clock().instant())));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(ProblemStarted.class, (state, e) -> {
          state.campaignId = e.campaignId();
          state.problem = e.problem();
          state.spec = e.spec();
          state.startedAt = e.at();
          state.tally = state.tally.started(e.campaignId(), e.problem(), roundsPlanned(e.spec()), e.at());
          return state;
        })
        .onEvent(RoundAnswered.class, (state, e) -> {
          state.rounds(e.branch()).add(new Round(e.answer(), e.at()));
          state.tally = state.tally.answered(e.answer());
          return state;
        })
        .onEvent(RoundJudged.class, (state, e) -> {
          Round round = state.rounds(e.branch()).get(e.round() - 1);
          round.verdict = e.verdict();
          round.judgedAt = e.at();
          state.tally = state.tally.judged(e.branch(), e.round(), e.verdict(), round.answer.candidate().source(),
              e.at());
          return state;
        })
        .onEvent(BranchRestarted.class, (state, e) -> {
          state.rounds(e.branch()).get(e.afterRound() - 1).restartFrom = new int[] {e.fromBranch(), e.fromRound()};
          return state;
        })
        .onEvent(ProblemFinished.class, (state, e) -> {
          state.finishReason = e.reason();
          state.finishedAt = e.at();
          state.tally = state.tally.finished(e.reason(), e.at());
          return state;
        })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::run).build();
  }

  /** Snapshots every {@code snapshot-every} events, keeping two; events stay for the read side. */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(services.settings().snapshotEvery(), 2);
  }

  /**
   * State is mutable, and a snapshot is serialized after the actor moves on: the adapter copies it into an
   * immutable {@link Snapshot} on the actor's thread, and rebuilds State from one on recovery.
   */
  @Override
  public SnapshotAdapter<State> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(State state) {
        return Snapshot.of(state);
      }

      @Override
      public State fromJournal(Object from) {
        return ((Snapshot) from).toState();
      }
    };
  }

  /** A problem's whole state, as snapshotted. Evolve only by new Optional fields (STYLE.md section 5). */
  public record Snapshot(String campaignId, Problem problem, CampaignSpec spec, Instant startedAt,
      Map<Integer, List<RoundSnapshot>> branches, String finishReason, Instant finishedAt, ProblemTally tally)
      implements CborSerializable {
    static Snapshot of(State s) {
      Map<Integer, List<RoundSnapshot>> branches = new TreeMap<>();
      s.branches.forEach((b, rounds) -> branches.put(b, rounds.stream().map(r -> new RoundSnapshot(r.answer,
          r.answeredAt, r.verdict, r.judgedAt, r.restartFrom == null ? null : List.of(r.restartFrom[0],
          r.restartFrom[1]))).toList()));
      return new Snapshot(s.campaignId, s.problem, s.spec, s.startedAt, branches, s.finishReason, s.finishedAt,
          s.tally);
    }

    State toState() {
      State s = new State();
      s.campaignId = campaignId;
      s.problem = problem;
      s.spec = spec;
      s.startedAt = startedAt;
      if (branches != null) {
        branches.forEach((b, rounds) -> rounds.forEach(r -> {
          Round round = new Round(r.answer(), r.answeredAt());
          round.verdict = r.verdict();
          round.judgedAt = r.judgedAt();
          round.restartFrom = r.restartFrom() == null ? null
              : new int[] {r.restartFrom().get(0), r.restartFrom().get(1)};
          s.rounds(b).add(round);
        }));
      }
      s.finishReason = finishReason;
      s.finishedAt = finishedAt;
      s.tally = tally == null ? ProblemTally.empty() : tally;
      return s;
    }
  }

  /** One round in a {@link Snapshot}; {@code restartFrom} is {branch, round} or null. */
  public record RoundSnapshot(RoundAnswer answer, Instant answeredAt, Verdict verdict, Instant judgedAt,
      List<Integer> restartFrom) implements CborSerializable {}

  /** Every event goes to the read side, under one tag per entity so its events stay in order. */
  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tag);
  }

  private static Rounds rounds(State state) {
    List<RoundView> views = new ArrayList<>();
    state.branches.forEach((branch, rounds) -> {
      for (int i = 0; i < rounds.size(); i++) {
        Round r = rounds.get(i);
        views.add(new RoundView(branch, i + 1, r.answer, r.verdict,
            r.restartFrom == null ? null : List.of(r.restartFrom[0], r.restartFrom[1])));
      }
    });
    return new Rounds(views);
  }

  /** The problem's standing, as DESIGN.md "Results" reports it (the shared {@link ProblemTally}). */
  static ProblemResult result(State state, Instant now) {
    return state.tally.result(now);
  }

  /** Branches times rounds: what the search may ask at most. */
  public static int roundsPlanned(CampaignSpec spec) {
    return spec.search().branches() * spec.search().rounds();
  }

  private static Double speedup(Verdict v) {
    return ProblemTally.speedup(v);
  }
}
