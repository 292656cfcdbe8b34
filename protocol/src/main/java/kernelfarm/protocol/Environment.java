package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.Map;

/**
 * Where the verdict was made, so results compare only across like environments.
 *
 * @param device the device's name, such as {@code "NVIDIA H100 80GB HBM3"} or {@code "cpu"}
 * @param driver the NVIDIA driver version, or null on a host without one
 * @param torch torch's version
 * @param cuda the CUDA version torch was built with, or null for a CPU-only torch
 * @param python the interpreter's version
 * @param harnessVersion the harness's version
 * @param backend the candidate's backend, as its wire name
 * @param networkIsolated whether the sandbox had no network
 * @param limits the resource limits the sandbox ran under, by name
 * @param deviceIndex the worker device the evaluation process was started for, or null (a compile process)
 * @param visibleDevices {@code CUDA_VISIBLE_DEVICES} as the process saw it: its one device, or empty on a CPU
 * @param deviceUuid the UUID of the GPU torch ran on, or null (a CPU, or a torch that does not report it)
 * @param isolation the sandbox the candidate ran in, as the process itself observed it; null from a harness
 *     older than the sandbox
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Environment(
    String device,
    String driver,
    String torch,
    String cuda,
    String python,
    String harnessVersion,
    String backend,
    boolean networkIsolated,
    Map<String, String> limits,
    Integer deviceIndex,
    String visibleDevices,
    String deviceUuid,
    Isolation isolation)
    implements CborSerializable {
  public Environment {
    Require.nonBlank(device, "device");
    Require.nonBlank(torch, "torch");
    Require.nonBlank(python, "python");
    Require.nonBlank(harnessVersion, "harnessVersion");
    Require.nonBlank(backend, "backend");
    limits = Require.copyOrEmpty(limits);
  }
}
