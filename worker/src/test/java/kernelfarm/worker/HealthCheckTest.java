package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.time.Duration;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The health check alone, through the real harness on the cpu backend. */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HealthCheckTest {
  private final Config config = TestWorkers.config();
  private final ActorTestKit kit = ActorTestKit.create(config);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aWorkingDevicePassesAndLeavesNoProcessBehind() {
    WorkerSettings settings = TestWorkers.settings(config);
    HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
    long before = TestWorkers.harnessProcesses();
    TestProbe<HealthCheck.Result> result = kit.createTestProbe();
    kit.spawn(HealthCheck.create(Device.cpu(), launcher, result.getRef()), "health-check",
        DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    HealthCheck.Result answer = result.receiveMessage(Duration.ofSeconds(90));
    assertTrue(answer.healthy(), answer.reason());
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(before, TestWorkers.harnessProcesses());
      return null;
    });
  }
}
