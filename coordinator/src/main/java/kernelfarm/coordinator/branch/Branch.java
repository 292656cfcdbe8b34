package kernelfarm.coordinator.branch;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.llm.ChatMessage;
import kernelfarm.coordinator.llm.ChatRequest;
import kernelfarm.coordinator.llm.ChatResult;
import kernelfarm.coordinator.llm.CodeExtractor;
import kernelfarm.coordinator.llm.LlmException;
import kernelfarm.coordinator.llm.LlmPool;
import kernelfarm.coordinator.prompt.BranchHistory;
import kernelfarm.coordinator.prompt.FeedbackPrompt;
import kernelfarm.coordinator.prompt.PromptTemplates;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.Verdict;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One LLM conversation of a problem: asks its model (through the campaign's pool of endpoints, so consecutive
 * rounds may be answered by different endpoints of the same campaign), extracts the code, reports the answer to its
 * ProblemCoordinator (which persists it and sends the candidate to the farm), then waits for the round to close
 * with a verdict, which becomes the next prompt. It ends after its last round.
 *
 * <p>The Branch keeps nothing durable: it starts from the rounds its parent recovered, so after a restart it asks
 * the model only for rounds that were never answered. A round answered but not yet judged is waited for, not
 * asked again. LLM failures (after the client's own retries) are retried here with backoff until the parent stops
 * the branch at the problem's deadline: an endpoint outage must not end a campaign. A call no endpoint could even
 * be reached for is also reported to the parent, which ends a problem that never got an answer.
 */
public final class Branch {
  public sealed interface Command extends CborSerializable {}

  /**
   * The parent closes a round: with the candidate's verdict, or with null when the answer had no code. With
   * {@code restartFrom} set (the campaign's top-k rule), the conversation starts over from that candidate of the
   * problem's best, as if this branch had written it.
   */
  public record RoundClosed(int round, Verdict verdict, PastRound restartFrom) implements Command {}

  private record Answered(int round, String prompt, ChatResult result) implements Command {}

  private record AskFailed(int round, String reason, boolean unreachable) implements Command {}

  private enum Retry implements Command { INSTANCE }

  /** What a Branch tells its parent. */
  public sealed interface Report extends CborSerializable {}

  /** The model answered round {@code round}; persist it, verify its candidate, then send {@link RoundClosed}. */
  public record AnswerReady(int branch, int round, RoundAnswer answer) implements Report {}

  /** The branch finished its last round. */
  public record Exhausted(int branch) implements Report {}

  /**
   * No endpoint of the campaign could be reached for this branch's call (every connection failed); the branch
   * keeps retrying, and the parent decides whether the problem can still get an answer.
   */
  public record EndpointsUnreachable(int branch, String reason) implements Report {}

  /**
   * A round of the past, as the parent recovered it; {@code verdict} is null for a no-code answer.
   * {@code restartFrom}, when set, is the top-k candidate the branch restarted from after this round.
   */
  public record PastRound(RoundAnswer answer, Verdict verdict, PastRound restartFrom) implements CborSerializable {
    public PastRound(RoundAnswer answer, Verdict verdict) {
      this(answer, verdict, null);
    }
  }

  /** What the branch needs that is not a message. */
  public record Setup(
      int index,
      String problemId,
      String problemSource,
      Backend backend,
      CampaignSpec.Sampling sampling,
      int rounds,
      LlmPool llm,
      PromptTemplates templates,
      int historyFullRounds,
      int historyMaxChars) {}

  private static final Duration FIRST_RETRY = Duration.ofSeconds(2);
  private static final Duration LAST_RETRY = Duration.ofSeconds(60);

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final Setup setup;
  private final ActorRef<Report> parent;
  private BranchHistory history;
  private final FeedbackPrompt feedback;
  private Double bestSpeedup;
  private int failures;
  /** The answer of the round being judged; the history takes it together with its feedback. */
  private ChatResult pendingAnswer;

  private Branch(ActorContext<Command> ctx, TimerScheduler<Command> timers, Setup setup, ActorRef<Report> parent) {
    this.ctx = ctx;
    this.timers = timers;
    this.setup = setup;
    this.parent = parent;
    this.feedback = new FeedbackPrompt(setup.templates());
    String problemPrompt = setup.templates().problem(setup.backend(), setup.problemSource());
    this.history = new BranchHistory(setup.templates().system(setup.backend()), problemPrompt,
        setup.historyFullRounds(), setup.historyMaxChars());
  }

  /**
   * @param past the rounds already answered, oldest first; only the last may be open (answered, not judged)
   */
  public static Behavior<Command> create(Setup setup, List<PastRound> past, ActorRef<Report> parent) {
    Objects.requireNonNull(setup.llm(), "llm");
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Branch branch = new Branch(ctx, timers, setup, parent);
      for (int i = 0; i < past.size(); i++) {
        PastRound round = past.get(i);
        boolean open = round.verdict() == null && round.answer().candidate() != null;
        if (open) {
          if (i != past.size() - 1) {
            throw new IllegalArgumentException("only the last past round may be open, round " + (i + 1) + " is");
          }
          branch.pendingAnswer = round.answer().asChatResult();
          return branch.awaitingVerdict(i + 1);
        }
        branch.record(i + 1, round.answer().asChatResult(), round.verdict());
        branch.restart(i + 1, round.restartFrom());
      }
      return branch.next(past.size() + 1);
    }));
  }

  private Behavior<Command> next(int round) {
    if (round > setup.rounds()) {
      parent.tell(new Exhausted(setup.index()));
      return Behaviors.stopped();
    }
    return ask(round);
  }

  private Behavior<Command> ask(int round) {
    List<ChatMessage> messages = history.messages();
    String prompt = messages.get(messages.size() - 1).content();
    CampaignSpec.Sampling sampling = setup.sampling();
    ChatRequest request = new ChatRequest(messages, sampling.temperature(), sampling.maxTokens(),
        sampling.reasoningEffort(), true);
    ctx.pipeToSelf(setup.llm().complete(request), (result, failure) -> result != null
        ? new Answered(round, prompt, result)
        : new AskFailed(round, String.valueOf(failure.getMessage()),
            failure instanceof LlmException e && e.unreachable()));
    return asking(round);
  }

  private Behavior<Command> asking(int round) {
    return Behaviors.receive(Command.class)
        .onMessage(Answered.class, a -> a.round() == round, this::onAnswered)
        .onMessage(AskFailed.class, f -> f.round() == round, this::onAskFailed)
        .onMessageEquals(Retry.INSTANCE, () -> ask(round))
        .build();
  }

  private Behavior<Command> onAnswered(Answered answered) {
    failures = 0;
    Candidate candidate = CodeExtractor.extract(answered.result().content())
        .map(code -> Candidate.of(setup.problemId(), setup.backend(), code))
        .orElse(null);
    parent.tell(new AnswerReady(setup.index(), answered.round(),
        RoundAnswer.of(answered.result().endpoint(), answered.prompt(), answered.result(), candidate)));
    pendingAnswer = answered.result();
    return awaitingVerdict(answered.round());
  }

  private Behavior<Command> onAskFailed(AskFailed failed) {
    failures++;
    long capped = Math.min(LAST_RETRY.toMillis(), FIRST_RETRY.toMillis() << Math.min(failures - 1, 10));
    // Jitter spreads the retries of branches that failed together (an endpoint restart) over time.
    Duration wait = Duration.ofMillis(capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1));
    ctx.getLog().atWarn().addKeyValue("problem", setup.problemId()).addKeyValue("branch", setup.index())
        .addKeyValue("round", failed.round()).addKeyValue("reason", failed.reason())
        .log("LLM call failed; retrying in " + wait.toSeconds() + "s");
    timers.startSingleTimer(Retry.INSTANCE, wait);
    if (failed.unreachable()) {
      parent.tell(new EndpointsUnreachable(setup.index(), failed.reason()));
    }
    return Behaviors.same();
  }

  private Behavior<Command> awaitingVerdict(int round) {
    return Behaviors.receive(Command.class)
        .onMessage(RoundClosed.class, c -> c.round() == round, this::onRoundClosed)
        .build();
  }

  private Behavior<Command> onRoundClosed(RoundClosed closed) {
    record(closed.round(), pendingAnswer, closed.verdict());
    restart(closed.round(), closed.restartFrom());
    pendingAnswer = null;
    return next(closed.round() + 1);
  }

  /** Starts the conversation over from another branch's strong candidate: its answer and the feedback on it. */
  private void restart(int round, PastRound from) {
    if (from == null) {
      return;
    }
    history = new BranchHistory(setup.templates().system(setup.backend()),
        setup.templates().problem(setup.backend(), setup.problemSource()), setup.historyFullRounds(),
        setup.historyMaxChars());
    bestSpeedup = null;
    record(round, from.answer().asChatResult(), from.verdict());
  }

  private void record(int round, ChatResult answer, Verdict verdict) {
    FeedbackPrompt.Feedback next = verdict == null
        ? feedback.forNoCode(round, bestSpeedup)
        : feedback.forVerdict(verdict, round, bestSpeedup);
    history.addRound(answer, next);
    if (verdict != null && verdict.correct() && verdict.timing() != null && verdict.timing().speedup() != null) {
      bestSpeedup = bestSpeedup == null ? verdict.timing().speedup() : Math.max(bestSpeedup, verdict.timing().speedup());
    }
  }
}
