package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A reference PyTorch Model with get_inputs and get_init_inputs, in KernelBench's format. Loaded by the
 * coordinator and sent with each candidate, so a worker needs no problem store of its own.
 *
 * @param id unique within a campaign, such as {@code "level1/19_ReLU"}
 * @param level the KernelBench level, or 0 for a user's own problem
 * @param name display name, such as {@code "19_ReLU"}
 * @param source the reference module's Python source
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Problem(String id, int level, String name, String source) implements CborSerializable {
  public Problem {
    Require.nonBlank(id, "id");
    Require.atLeast(level, 0, "level");
    Require.nonBlank(name, "name");
    Require.nonBlank(source, "source");
  }
}
