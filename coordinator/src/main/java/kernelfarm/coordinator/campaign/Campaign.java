package kernelfarm.coordinator.campaign;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.Problem;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
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
 * A campaign: its spec and problems, persisted before the submission is acknowledged, and each problem's result
 * as it finishes. It starts one ProblemCoordinator per problem and keeps re-sending Start to those that have not
 * reported (a repeat is harmless), so a lost message or a restart never leaves a problem waiting. After a
 * {@link Cancel} it keeps sending Cancel instead, until every problem has reported.
 *
 * <p>It reaches its problems through {@link Problems}, which the problem package implements, so this package does
 * not depend on that one (the problem package reports back with {@link ProblemDone}).
 */
public final class Campaign
    extends EventSourcedBehaviorWithEnforcedReplies<Campaign.Command, Campaign.Event, Campaign.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Campaign");

  public sealed interface Command extends CborSerializable {}

  /** How a campaign reaches its problems' entities; {@code ProblemCoordinator.problems(system)} in production. */
  public interface Problems {
    /** Start or keep running a problem; a ProblemDone comes back once it finishes. */
    void start(String campaignId, Problem problem, CampaignSpec spec, ActorRef<StatusReply<Done>> replyTo);

    /** Stop a problem, keeping what was verified; a ProblemDone comes back. */
    void cancel(String campaignId, Problem problem, CampaignSpec spec);
  }

  /**
   * Stop the campaign: every problem still running stops its branches and withdraws its queued candidates; every
   * verdict so far stays. Replies once the cancellation is persisted; an error if the campaign is unknown or has
   * already finished; a repeat while problems are still stopping is acknowledged again.
   */
  public record Cancel(ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /**
   * Run this campaign. Replies once it is persisted; a repeat with the same spec is acknowledged again, one with a
   * different spec under the same id is refused.
   */
  public record Submit(CampaignSpec spec, List<Problem> problems, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /** A ProblemCoordinator's final result; sent again on every Start after it finished. */
  public record ProblemDone(ProblemResult result) implements Command {}

  /** The campaign's problems and the results in so far; answered at once. */
  public record GetProgress(ActorRef<Progress> replyTo) implements Command {}

  /**
   * @param finished null while problems still run
   * @param cancelled when the campaign was cancelled; null if it was not
   */
  public record Progress(String campaignId, CampaignSpec spec, List<String> problemIds,
      Map<String, ProblemResult> results, Instant submittedAt, Instant finished, Instant cancelled)
      implements CborSerializable {
    public Progress {
      problemIds = problemIds == null ? List.of() : List.copyOf(problemIds);
      results = results == null ? Map.of() : Map.copyOf(results);
    }

    public boolean known() {
      return spec != null;
    }
  }

  private enum RetryStarts implements Command { INSTANCE }

  private record Started(StatusReply<Done> reply) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record Submitted(CampaignSpec spec, List<Problem> problems, Instant at) implements Event {}

  public record ProblemCompleted(ProblemResult result) implements Event {}

  public record Completed(Instant at) implements Event {}

  public record Cancelled(Instant at) implements Event {}

  static final class State {
    CampaignSpec spec;
    List<Problem> problems = List.of();
    Instant submittedAt;
    final Map<String, ProblemResult> results = new LinkedHashMap<>();
    Instant finished;
    Instant cancelled;
  }

  private final String campaignId;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final SearchServices services;
  private final Problems problemEntities;
  private final ActorRef<StatusReply<Done>> startReplies;
  private final String tag;

  private Campaign(String campaignId, ActorContext<Command> ctx, TimerScheduler<Command> timers,
      SearchServices services, Problems problemEntities) {
    super(PersistenceId.of(TYPE_KEY.name(), campaignId),
        CoordinatorEntities.ON_PERSIST_FAILURE);
    this.campaignId = campaignId;
    this.ctx = ctx;
    this.timers = timers;
    this.services = services;
    this.problemEntities = problemEntities;
    this.tag = CoordinatorEntities.tagFor(persistenceId().id());
    this.startReplies = ctx.messageAdapter(castReply(), Started::new);
  }

  @SuppressWarnings("unchecked")
  private static Class<StatusReply<Done>> castReply() {
    return (Class<StatusReply<Done>>) (Class<?>) StatusReply.class;
  }

  public static Behavior<Command> create(String campaignId, SearchServices services, Problems problems) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Campaign(campaignId, ctx, timers, services, problems)));
  }

  /** Registers the entity on coordinator nodes; remembered, so a running campaign comes back after a restart. */
  public static void init(ActorSystem<?> system, SearchServices services, Problems problems) {
    CoordinatorEntities.init(system, TYPE_KEY, id -> create(id, services, problems));
  }

  @Override
  public State emptyState() {
    return new State();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Submit.class, this::onSubmit)
        .onCommand(ProblemDone.class, this::onProblemDone)
        .onCommand(Cancel.class, this::onCancel)
        .onCommand(GetProgress.class, (state, get) -> Effect().reply(get.replyTo(), progress(state)))
        .onCommand(RetryStarts.class, (state, retry) -> {
          startOpen(state);
          return Effect().none().thenNoReply();
        })
        .onCommand(Started.class, (state, started) -> Effect().none().thenNoReply())
        .build();
  }

  private ReplyEffect<Event, State> onSubmit(State state, Submit submit) {
    if (state.spec != null) {
      return Effect().reply(submit.replyTo(), state.spec.equals(submit.spec()) ? StatusReply.ack()
          : StatusReply.error("campaign " + campaignId + " exists with another spec; submit under a new name"));
    }
    return Effect().persist(new Submitted(submit.spec(), submit.problems(), services.clock().instant()))
        .thenRun(this::startOpen)
        .thenReply(submit.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onCancel(State state, Cancel cancel) {
    if (state.spec == null) {
      return Effect().reply(cancel.replyTo(), StatusReply.error("campaign " + campaignId + " is unknown"));
    }
    if (state.finished != null) {
      return Effect().reply(cancel.replyTo(), StatusReply.error("campaign " + campaignId + " already "
          + (state.cancelled != null ? "was cancelled" : "finished") + " at " + state.finished));
    }
    if (state.cancelled != null) {
      return Effect().reply(cancel.replyTo(), StatusReply.ack());
    }
    return Effect().persist(new Cancelled(services.clock().instant()))
        .thenRun(s -> {
          ctx.getLog().atInfo().addKeyValue("campaign", campaignId).log("campaign cancelled");
          startOpen(s);
        })
        .thenReply(cancel.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onProblemDone(State state, ProblemDone done) {
    String id = done.result().problemId();
    if (state.results.containsKey(id) || state.problems.stream().noneMatch(p -> p.id().equals(id))) {
      return Effect().none().thenNoReply();
    }
    List<Event> events = new ArrayList<>();
    events.add(new ProblemCompleted(done.result()));
    if (state.results.size() + 1 == state.problems.size()) {
      events.add(new Completed(services.clock().instant()));
    }
    return Effect().persist(events).thenRun(s -> {
      if (s.finished != null) {
        timers.cancelAll();
        ctx.getLog().atInfo().addKeyValue("campaign", campaignId).log("campaign finished");
      }
    }).thenNoReply();
  }

  private void startOpen(State state) {
    if (state.spec == null || state.finished != null) {
      return;
    }
    for (Problem problem : state.problems) {
      if (!state.results.containsKey(problem.id())) {
        if (state.cancelled != null) {
          problemEntities.cancel(campaignId, problem, state.spec);
        } else {
          problemEntities.start(campaignId, problem, state.spec, startReplies);
        }
      }
    }
    if (!timers.isTimerActive(RetryStarts.INSTANCE)) {
      timers.startTimerWithFixedDelay(RetryStarts.INSTANCE, services.settings().startRetry());
    }
  }

  private Progress progress(State state) {
    return new Progress(campaignId, state.spec, state.problems.stream().map(Problem::id).toList(),
        state.results, state.submittedAt, state.finished, state.cancelled);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Submitted.class, (state, e) -> {
          state.spec = e.spec();
          state.problems = List.copyOf(e.problems());
          state.submittedAt = e.at();
          return state;
        })
        .onEvent(ProblemCompleted.class, (state, e) -> {
          state.results.put(e.result().problemId(), e.result());
          return state;
        })
        .onEvent(Completed.class, (state, e) -> {
          state.finished = e.at();
          return state;
        })
        .onEvent(Cancelled.class, (state, e) -> {
          state.cancelled = e.at();
          return state;
        })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::startOpen).build();
  }

  /** Every event goes to the read side, under one tag per entity so its events stay in order. */
  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tag);
  }
}
