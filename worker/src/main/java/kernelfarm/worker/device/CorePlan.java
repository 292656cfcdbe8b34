package kernelfarm.worker.device;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which CPU cores time what. A launch-bound kernel measures the CPU that feeds it, so on a GPU host each device's
 * timed evaluation gets cores of its own (the last ones), and everything else (the JVM, compiles, interpreters
 * warming up) runs on the rest: a timing then reads the same whether the farm is idle or busy. CPU devices are
 * not planned: there the timed computation needs the cores itself.
 *
 * @param shared the cores of everything but timed evaluations; empty when nothing is planned
 * @param timed per device index, the cores its timed evaluation runs on
 */
public record CorePlan(List<Integer> shared, Map<Integer, List<Integer>> timed) {
  private static final Logger log = LoggerFactory.getLogger(CorePlan.class);

  public CorePlan {
    shared = List.copyOf(shared);
    timed = Map.copyOf(timed);
  }

  /** No pinning at all. */
  public static CorePlan none() {
    return new CorePlan(List.of(), Map.of());
  }

  /**
   * {@code perDevice} cores for each device's timed evaluation, or -1 for one per GPU where the host keeps at
   * least three cores per device for the rest; 0 plans nothing.
   */
  public static CorePlan of(int cores, List<Device> devices, int perDevice) {
    boolean gpus = !devices.isEmpty() && devices.stream().allMatch(Device::gpu);
    int each = perDevice >= 0 ? perDevice : gpus && cores >= 4 * devices.size() ? 1 : 0;
    if (each == 0 || !gpus || cores - each * devices.size() < 1) {
      return none();
    }
    Map<Integer, List<Integer>> timed = new LinkedHashMap<>();
    int next = cores - 1;
    for (Device device : devices) {
      List<Integer> own = new ArrayList<>();
      for (int i = 0; i < each; i++) {
        own.add(0, next--);
      }
      timed.put(device.index(), own);
    }
    List<Integer> shared = new ArrayList<>();
    for (int core = 0; core <= next; core++) {
      shared.add(core);
    }
    return new CorePlan(shared, timed);
  }

  public boolean active() {
    return !shared.isEmpty();
  }

  /** The cores of a device's timed evaluation, or an empty list when nothing is planned. */
  public List<Integer> timedFor(int deviceIndex) {
    return timed.getOrDefault(deviceIndex, List.of());
  }

  /** A list as taskset and the harness read it: {@code 0,1,2}. */
  public static String format(List<Integer> cores) {
    return cores.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  /** Moves every thread of this JVM to the shared cores (threads started later inherit it). */
  public void pinThisProcess() {
    if (!active()) {
      return;
    }
    try {
      Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", format(shared),
          Long.toString(ProcessHandle.current().pid())).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        log.atWarn().addKeyValue("output", out.strip()).log("could not pin the worker to its shared cores");
      }
    } catch (IOException e) {
      log.atWarn().addKeyValue("error", e.getMessage()).log("could not pin the worker to its shared cores");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
