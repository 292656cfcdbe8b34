package kernelfarm.worker;

import java.nio.file.Path;
import java.time.Duration;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Correctness;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessProcess;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import kernelfarm.worker.sandbox.Verdicts;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Per check: runs a tiny known computation on the device through the real harness, in a fresh evaluation process,
 * and compares the device's answer with the host's (the reference computes on the CPU). Answers {@link Result}
 * once and stops; stopping it early kills its process.
 *
 * <p>A device is taken back into service only after this passes, so whatever made it unhealthy (a driver fault, a
 * lost CUDA context, a harness that will not start) is shown gone by the same path a candidate takes.
 */
public final class HealthCheck extends AbstractBehavior<HealthCheck.Command> {
  /** Local to the worker node. */
  public sealed interface Command extends NoSerializationVerificationNeeded {}

  /** The one answer: {@code reason} says what failed, null when healthy. */
  public record Result(boolean healthy, String reason) implements NoSerializationVerificationNeeded {}

  private record Judged(HarnessSession.Finished finished) implements Command {}

  static final String PROBLEM_SOURCE = """
      import torch
      import torch.nn as nn


      class Model(nn.Module):
          def __init__(self):
              super().__init__()

          def forward(self, x):
              # On the host: the device's answer is checked against the CPU's, not against itself.
              return (torch.relu(x.cpu()) * 2.0 + 1.0).to(x.device)


      def get_inputs():
          return [torch.randn(256, 256)]


      def get_init_inputs():
          return []
      """;

  static final String CANDIDATE_SOURCE = """
      import torch
      import torch.nn as nn


      class ModelNew(nn.Module):
          def __init__(self):
              super().__init__()

          def forward(self, x):
              return torch.relu(x) * 2.0 + 1.0
      """;

  /** Few trials: this asks whether the device computes, not how fast. */
  private static final VerifySettings SETTINGS = new VerifySettings(3, 1e-4, 1e-4, 1, 3, false, false, 42);

  private final HarnessLauncher launcher;
  private final HarnessRequests.Job job;
  private final ActorRef<Result> replyTo;

  private HealthCheck(ActorContext<Command> context, HarnessLauncher launcher, HarnessRequests.Job job,
      ActorRef<Result> replyTo) {
    super(context);
    this.launcher = launcher;
    this.job = job;
    this.replyTo = replyTo;
  }

  /**
   * Spawn it on the worker's blocking dispatcher: it writes the sources and starts the process in its setup. The
   * process belongs to a child session, which kills it when it answers or when this actor is stopped early.
   */
  public static Behavior<Command> create(Device device, HarnessLauncher launcher, ActorRef<Result> replyTo) {
    return Behaviors.setup(ctx -> {
      Backend backend = device.gpu() ? Backend.CUDA : Backend.CPU;
      Problem problem = new Problem("health/relu", 1, "relu", PROBLEM_SOURCE);
      Candidate candidate = Candidate.of(problem.id(), backend, CANDIDATE_SOURCE);
      Path workDir = launcher.settings().workDir();
      HarnessRequests.Job job;
      HarnessProcess process;
      try {
        job = HarnessRequests.prepare(workDir, candidate, problem,
            HarnessRequests.buildDir(workDir, candidate, "", launcher.harnessRoot(), launcher.toolchain()), SETTINGS);
        process = launcher.start(Role.EVALUATE, backend, device);
      } catch (RuntimeException e) {
        replyTo.tell(new Result(false, "an evaluation process could not be started: " + Evaluator.rootMessage(e)));
        return Behaviors.stopped();
      }
      String request = HarnessRequests.evaluate(launcher.json(), job, process, "oneshot", null, 0, 0,
          launcher.cores().timedFor(device.index()));
      Duration firstStage = launcher.settings().stageTimeout("ready").plus(launcher.settings().stageTimeout("load"));
      ActorRef<HarnessSession.Finished> judged = ctx.messageAdapter(HarnessSession.Finished.class, Judged::new);
      ctx.spawn(HarnessSession.create("health", process, request, "start",
          stage -> stage.equals("start") ? firstStage : launcher.settings().stageTimeout(stage), judged), "session",
          DispatcherSelector.sameAsParent());
      return new HealthCheck(ctx, launcher, job, replyTo);
    });
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Judged.class, this::onJudged)
        .build();
  }

  private Behavior<Command> onJudged(Judged judged) {
    Verdict verdict = Verdicts.of(launcher.json(), judged.finished(), job.candidate().id(), job.problem().id());
    Correctness c = verdict.correctness();
    if (c != null && c.trials() > 0 && c.passed() == c.trials()) {
      return answer(new Result(true, null));
    }
    return answer(new Result(false, verdict.status() + " in stage " + verdict.stage() + ": " + verdict.summary()));
  }

  private Behavior<Command> answer(Result result) {
    replyTo.tell(result);
    return Behaviors.stopped();
  }
}
