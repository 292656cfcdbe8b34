package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The device a verdict was made on. The worker fills it in, since the harness cannot know its node.
 *
 * @param nodeId the worker node's id, stable while that JVM runs
 * @param index the device's index on its host, as CUDA numbers it (0 for the CPU)
 * @param name the device's name, such as {@code "NVIDIA H100 80GB HBM3"} or {@code "cpu"}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DeviceRef(String nodeId, int index, String name) implements CborSerializable {
  public DeviceRef {
    Require.nonBlank(nodeId, "nodeId");
    Require.atLeast(index, 0, "index");
    Require.nonBlank(name, "name");
  }
}
