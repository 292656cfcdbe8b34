package kernelfarm.worker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Timed evaluations get cores of their own on GPU hosts; the rest of the farm keeps off them. */
class CorePlanTest {
  private static Device gpu(int index) {
    return new Device(index, null, "NVIDIA H100 80GB HBM3", 80L << 30, "9.0", "580", true);
  }

  @Test
  void eachGpuTimesOnItsOwnLastCore() {
    CorePlan plan = CorePlan.of(16, List.of(gpu(0)), -1);
    assertEquals(List.of(15), plan.timedFor(0));
    assertEquals(15, plan.shared().size());
    assertFalse(plan.shared().contains(15));
    CorePlan eight = CorePlan.of(64, List.of(gpu(0), gpu(1), gpu(2), gpu(3), gpu(4), gpu(5), gpu(6), gpu(7)), -1);
    assertEquals(List.of(63), eight.timedFor(0));
    assertEquals(List.of(56), eight.timedFor(7));
    assertEquals(56, eight.shared().size());
  }

  @Test
  void nothingIsPlannedWhereCoresAreShortOrTheDeviceIsTheCpu() {
    assertFalse(CorePlan.of(2, List.of(Device.cpu()), -1).active(), "the cpu backend times on every core");
    assertFalse(CorePlan.of(6, List.of(gpu(0), gpu(1)), -1).active(), "fewer than 4 cores per GPU");
    assertFalse(CorePlan.of(16, List.of(gpu(0)), 0).active(), "switched off");
    assertEquals(List.of(12, 13, 14, 15), CorePlan.of(16, List.of(gpu(0)), 4).timedFor(0));
  }
}
