package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.Set;

/**
 * What one device can run, sent by its GpuWorker with every {@link DispatcherProtocol.RequestWork}. The
 * Dispatcher offers only work whose backend is in {@link #backends()}, and answers a candidate already verified on
 * the same {@link #deviceType()} from its cache.
 *
 * @param deviceType the device's model, such as {@code "NVIDIA H100 80GB HBM3"}, or {@code "cpu"}
 * @param backends the backends its harness can evaluate; never empty
 * @param memoryBytes the device's total memory
 * @param computeCapability such as {@code "9.0"}; null for a CPU
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DeviceCapabilities(
    String deviceType, Set<Backend> backends, long memoryBytes, String computeCapability)
    implements CborSerializable {
  public DeviceCapabilities {
    Require.nonBlank(deviceType, "deviceType");
    backends = Set.copyOf(Require.nonNull(backends, "backends"));
    if (backends.isEmpty()) {
      throw new IllegalArgumentException("backends must not be empty");
    }
    Require.atLeast(memoryBytes, 0L, "memoryBytes");
  }

  /** Whether this device can evaluate candidates written for that backend. */
  public boolean supports(Backend backend) {
    return backends.contains(backend);
  }
}
