package kernelfarm.worker.device;

import java.util.EnumSet;
import java.util.Set;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.DeviceCapabilities;
import kernelfarm.protocol.Environment;

/**
 * One device a GpuWorker is pinned to.
 *
 * @param index the CUDA ordinal, or 0 for the CPU device
 * @param uuid the GPU's UUID ({@code GPU-...}) when known: pinning by UUID survives a different device order
 * @param computeCapability such as {@code "9.0"}; null for the CPU
 * @param driverVersion the NVIDIA driver version; empty for the CPU
 */
public record Device(
    int index, String uuid, String name, long memoryBytes, String computeCapability, String driverVersion,
    boolean gpu) {

  public static Device cpu() {
    return new Device(0, null, "cpu", Runtime.getRuntime().maxMemory(), null, "", false);
  }

  /** What CUDA_VISIBLE_DEVICES names for this device's evaluation processes ("" hides every GPU). */
  public String visibleDevices() {
    if (!gpu) {
      return "";
    }
    return uuid != null && !uuid.isBlank() ? uuid : Integer.toString(index);
  }

  /**
   * Whether an evaluation process that reported {@code seen} was pinned to this device: started for it, shown only
   * it, and (where torch names it) running on this very GPU. True when the process reported no pinning (a compile
   * error never reaches one).
   */
  public boolean pinnedIn(Environment seen) {
    if (seen == null || seen.deviceIndex() == null) {
      return true;
    }
    boolean sameGpu = seen.deviceUuid() == null || uuid == null || uuid.equals(seen.deviceUuid());
    return seen.deviceIndex() == index && visibleDevices().equals(seen.visibleDevices()) && sameGpu;
  }

  /** The verdict cache key: verdicts transfer between devices of the same model only. */
  public String deviceType() {
    return gpu ? name : "cpu";
  }

  public Set<Backend> backends() {
    return gpu ? EnumSet.of(Backend.CUDA, Backend.TRITON) : EnumSet.of(Backend.CPU);
  }

  public DeviceCapabilities capabilities() {
    return new DeviceCapabilities(deviceType(), backends(), memoryBytes, computeCapability);
  }

  /** TORCH_CUDA_ARCH_LIST for builds, which run where no GPU is visible to ask. */
  public String archList() {
    return computeCapability == null ? "" : computeCapability;
  }
}
