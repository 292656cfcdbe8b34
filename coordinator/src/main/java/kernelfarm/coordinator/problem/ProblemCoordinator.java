package kernelfarm.coordinator.problem;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import kernelfarm.coordinator.branch.Branch;
import kernelfarm.coordinator.branch.RoundAnswer;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.CoordinatorEntities;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.campaign.SearchServices;
import kernelfarm.coordinator.llm.LlmClient;
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
  private int exhausted;

  private ProblemCoordinator(String entityId, ActorContext<Command> ctx, TimerScheduler<Command> timers,
      SearchServices services) {
    super(PersistenceId.of(TYPE_KEY.name(), entityId),
        CoordinatorEntities.ON_PERSIST_FAILURE);
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

  private ReplyEffect<Event, State> onFromBranch(State state, FromBranch from) {
    if (state.finished()) {
      return Effect().none().thenNoReply();
    }
    if (from.report() instanceof Branch.AnswerReady ready) {
      return onAnswer(state, ready);
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
    for (int b = 0; b < spec.search().branches(); b++) {
      String endpoint = spec.endpoints().get(b % spec.endpoints().size());
      LlmClient llm = services.llm(endpoint).orElse(null);
      if (llm == null) {
        ctx.getLog().atError().addKeyValue("problem", state.problem.id()).addKeyValue("endpoint", endpoint)
            .log("LLM endpoint not configured on this coordinator node; configure it on every coordinator node");
        ctx.getSelf().tell(new StopRuleMet("LLM endpoint " + endpoint + " is not configured on this node"));
        return;
      }
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
          return state;
        })
        .onEvent(RoundAnswered.class, (state, e) -> {
          state.rounds(e.branch()).add(new Round(e.answer(), e.at()));
          return state;
        })
        .onEvent(RoundJudged.class, (state, e) -> {
          Round round = state.rounds(e.branch()).get(e.round() - 1);
          round.verdict = e.verdict();
          round.judgedAt = e.at();
          return state;
        })
        .onEvent(BranchRestarted.class, (state, e) -> {
          state.rounds(e.branch()).get(e.afterRound() - 1).restartFrom = new int[] {e.fromBranch(), e.fromRound()};
          return state;
        })
        .onEvent(ProblemFinished.class, (state, e) -> {
          state.finishReason = e.reason();
          state.finishedAt = e.at();
          return state;
        })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::run).build();
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

  /** The problem's standing, as DESIGN.md "Results" reports it. */
  static ProblemResult result(State state, Instant now) {
    if (!state.started()) {
      return new ProblemResult(null, null, null, 0, false, null, 0, 0, 0, 0, Map.of(), null, null, -1, -1, 0, 0,
          List.of(), 0, 0, 0, 0);
    }
    Instant end = state.finished() ? state.finishedAt : now;
    Map<String, Integer> counts = new LinkedHashMap<>();
    List<Round> judged = new ArrayList<>();
    int answered = 0;
    long promptTokens = 0;
    long completionTokens = 0;
    double cost = 0;
    double gpu = 0;
    Round best = null;
    int bestBranch = -1;
    int bestRound = -1;
    for (Map.Entry<Integer, List<Round>> e : state.branches.entrySet()) {
      List<Round> rounds = e.getValue();
      for (int i = 0; i < rounds.size(); i++) {
        Round r = rounds.get(i);
        answered++;
        promptTokens += r.answer.promptTokens();
        completionTokens += r.answer.completionTokens();
        cost += r.answer.costUsd();
        if (r.answer.candidate() == null) {
          counts.merge("NO_CODE", 1, Integer::sum);
        } else if (r.verdict != null) {
          counts.merge(r.verdict.status().name(), 1, Integer::sum);
          gpu += deviceSeconds(r.verdict);
          judged.add(r);
          if (better(r, best)) {
            best = r;
            bestBranch = e.getKey();
            bestRound = i + 1;
          }
        }
      }
    }
    judged.sort((a, b) -> a.judgedAt.compareTo(b.judgedAt));
    List<ProblemResult.CurvePoint> curve = new ArrayList<>();
    double top = 0;
    for (Round r : judged) {
      Double s = speedup(r.verdict);
      if (s != null && s > top) {
        top = s;
        curve.add(new ProblemResult.CurvePoint(seconds(state.startedAt, r.judgedAt), s));
      }
    }
    long tokensToBest = 0;
    if (best != null) {
      for (List<Round> rounds : state.branches.values()) {
        for (Round r : rounds) {
          if (!r.answeredAt.isAfter(best.judgedAt)) {
            tokensToBest += r.answer.promptTokens() + r.answer.completionTokens();
          }
        }
      }
    }
    return new ProblemResult(state.campaignId, state.problem.id(), state.problem.name(), state.problem.level(),
        state.finished(), state.finishReason, seconds(state.startedAt, end),
        state.spec.search().branches() * state.spec.search().rounds(), answered, judged.size(), counts,
        best == null ? null : best.verdict, best == null ? null : best.answer.candidate().source(), bestBranch,
        bestRound, best == null ? 0 : seconds(state.startedAt, best.judgedAt), tokensToBest, curve, promptTokens,
        completionTokens, cost, gpu);
  }

  /** The fastest correct round wins; without any, the latest verdict stands for the problem. */
  private static boolean better(Round r, Round best) {
    if (best == null) {
      return true;
    }
    Double s = speedup(r.verdict);
    Double b = speedup(best.verdict);
    if (s != null || b != null) {
      return s != null && (b == null || s > b);
    }
    return r.judgedAt.isAfter(best.judgedAt);
  }

  private static Double speedup(Verdict v) {
    return v.correct() && v.timing() != null ? v.timing().speedup() : null;
  }

  /** Seconds the device held this candidate: its evaluation process from load to timing. */
  private static double deviceSeconds(Verdict v) {
    return v.stageMillis().entrySet().stream()
        .filter(e -> List.of("load", "correctness", "anticheat", "timing").contains(e.getKey()))
        .mapToDouble(Map.Entry::getValue).sum() / 1000.0;
  }

  private static double seconds(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }

}
