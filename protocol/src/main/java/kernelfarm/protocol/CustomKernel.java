package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * Whether the candidate really runs kernels of its own.
 *
 * @param used whether a kernel of its own ran during the timed calls
 * @param kind {@code "cuda"}, {@code "triton"}, {@code "cpp"} or {@code "none"}
 * @param builds every extension build the candidate attempted, however it reached load_inline or load
 * @param kernelsLaunched names of the kernels seen running
 * @param callsReference whether it calls the reference Model
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record CustomKernel(
    boolean used, String kind, List<ExtensionBuild> builds, List<String> kernelsLaunched, boolean callsReference)
    implements CborSerializable {
  public CustomKernel {
    Require.nonBlank(kind, "kind");
    builds = Require.copyOrEmpty(builds);
    kernelsLaunched = Require.copyOrEmpty(kernelsLaunched);
  }
}
