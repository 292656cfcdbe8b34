package kernelfarm.coordinator.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A worker node with an inventory of four devices starts four GpuWorkers, each pinned to its own: candidates
 * submitted at once spread over all four, and every verdict's evaluation process says it was started for the very
 * device the verdict names (the harness echoes its pinning in the verdict's environment). Real harness, cpu
 * backend; the GPU half (CUDA_VISIBLE_DEVICES and the UUID torch reports) is checked on GPU hosts.
 */
@Tag("slow")
class FourDevicePinningTest {
  @Test
  void fourDevicesFourWorkersEachVerdictFromItsOwnDevice() throws Exception {
    Config config = ConfigFactory.parseString("""
        kernelfarm.worker {
          work-dir = "target/kfarm-test-work"
          compile-slots = 1
          warm-evaluators = 1
          limits.address-space-bytes = 8589934592
        }
        """).withFallback(ConfigFactory.load());
    List<Device> four = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      four.add(new Device(i, null, "cpu", 1L << 30, null, "", false));
    }
    try (LocalFarm farm = LocalFarm.start(config, WorkerSettings.from(config), four)) {
      assertEquals(4, farm.worker().workers().size(), "one GpuWorker per device");
      Problem gelu = ProblemLibrary.load(Path.of("../examples/problems"), farm.json()).all().stream()
          .filter(p -> p.name().equals("1_GELU_tanh")).findFirst().orElseThrow();
      VerifySettings quick = new VerifySettings(2, 1e-2, 1e-2, 2, 5, true, false, 42);
      List<CompletableFuture<Verdict>> pending = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String source = "# copy " + i + "\n" + gelu.source().replace("class Model(", "class ModelNew(");
        pending.add(farm.verify(Candidate.of(gelu.id(), Backend.CPU, source), gelu, quick).toCompletableFuture());
      }
      Set<Integer> devicesUsed = new TreeSet<>();
      for (CompletableFuture<Verdict> f : pending) {
        Verdict v = f.get(5, TimeUnit.MINUTES);
        // Four "devices" share two cores here, so timings (and the checks built on them) are noise; what
        // matters is that each candidate was evaluated, and where.
        assertTrue(v.status() == Status.CORRECT || v.status() == Status.REJECTED, v.summary());
        assertNotNull(v.environment(), "evaluated: " + v.summary());
        assertNotNull(v.environment().deviceIndex(), "the process reports the device it was started for");
        assertEquals(v.device().index(), v.environment().deviceIndex(),
            "judged by a process started for the verdict's own device");
        assertEquals("", v.environment().visibleDevices(), "a cpu device exposes no GPU");
        devicesUsed.add(v.device().index());
      }
      assertEquals(Set.of(0, 1, 2, 3), devicesUsed, "candidates spread over all four devices");
    }
  }
}
