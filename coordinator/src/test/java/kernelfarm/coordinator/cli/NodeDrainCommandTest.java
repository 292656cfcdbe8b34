package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code kfarm node drain PID} sends the node SIGTERM (which runs its coordinated shutdown, where WorkerNode drains
 * the GpuWorkers; WorkerDrainTest covers that part) and waits for it to exit. A real process stands in for the node.
 */
class NodeDrainCommandTest {
  @Test
  void drainTerminatesTheProcessAndWaitsForItToExit() throws Exception {
    Process node = new ProcessBuilder("sleep", "600").start();
    try {
      assertEquals(0, KfarmCommand.execute("node", "drain", Long.toString(node.pid()), "--wait", "PT30S"));
      assertFalse(node.isAlive(), "gone when drain returns");
    } finally {
      node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void drainingAProcessThatIsNotThereSaysSo() {
    assertEquals(2, KfarmCommand.execute("node", "drain", "999999999"));
  }
}
