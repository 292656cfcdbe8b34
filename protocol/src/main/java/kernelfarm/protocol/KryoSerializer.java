package kernelfarm.protocol;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.EnumNameSerializer;
import com.esotericsoftware.kryo.util.DefaultClassResolver;
import com.esotericsoftware.kryo.util.Pool;
import java.io.NotSerializableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Kryo 5 for {@link KryoMessage}s, bound in serialization.conf. Only classes in {@link #IDS} cross the wire, each
 * under a fixed id, so a payload never names a class and nothing unregistered is instantiated. The manifest is
 * the message's id.
 *
 * <p>Records go through Kryo's RecordSerializer, which calls the canonical constructor, so a received message is
 * validated like a local one. Enums travel by name. Every typed {@link ActorRef} travels as its
 * {@link ActorRefResolver} string and is resolved on arrival.
 */
public final class KryoSerializer extends SerializerWithStringManifest {
  /** Pekko reserves 0 to 40; this one is ours alone. */
  public static final int IDENTIFIER = 8_471_001;

  /**
   * The wire format, id to class. Ids are append only: never renumber or reuse one, even after its class is
   * gone, or nodes of two versions misread each other. Kryo's own ids 0 to 9 cover primitives, their wrappers
   * and String.
   */
  static final Map<Integer, Class<?>> IDS = table(
      // Messages.
      DispatcherProtocol.SubmitCandidate.class, 20,
      DispatcherProtocol.Queued.class, 21,
      DispatcherProtocol.RequestWork.class, 22,
      DispatcherProtocol.WorkOffer.class, 23,
      DispatcherProtocol.RenewLease.class, 24,
      DispatcherProtocol.ReportVerdict.class, 25,
      DispatcherProtocol.VerdictAck.class, 26,
      DispatcherProtocol.VerdictReady.class, 27,
      DispatcherProtocol.Withdraw.class, 28,
      DispatcherProtocol.GetStatus.class, 29,
      DispatcherProtocol.FarmStatus.class, 30,
      DispatcherProtocol.WorkerStatus.class, 31,
      DispatcherProtocol.ReleaseLease.class, 32,
      DispatcherProtocol.RenewalRefused.class, 33,
      DispatcherProtocol.DeviceReport.class, 34,
      VerdictLogsProtocol.ReadLog.class, 35,
      VerdictLogsProtocol.LogChunk.class, 36,
      VerdictLogsProtocol.LogUnavailable.class, 37,
      // What they carry.
      CandidateId.class, 40,
      Candidate.class, 41,
      Problem.class, 42,
      Backend.class, 43,
      VerifySettings.class, 44,
      DeviceCapabilities.class, 45,
      Verdict.class, 46,
      Status.class, 47,
      Correctness.class, 48,
      Mismatch.class, 49,
      Degenerate.class, 50,
      Timing.class, 51,
      Stats.class, 52,
      Check.class, 53,
      CheckOutcome.class, 54,
      CustomKernel.class, 55,
      ExtensionBuild.class, 56,
      Environment.class, 57,
      DeviceRef.class, 58,
      Isolation.class, 59,
      KernelBenchVerdict.class, 60,
      DeviceState.class, 61,
      // JDK types. Our records hold List.copyOf and friends, whose class depends on the size and the JDK. Where
      // two samples share a class (List.of() and List.of(1, 2, 3) on JDK 17), Kryo writes the later id and
      // reads both, so JDKs that split them differently still understand each other.
      ActorRef.class, 80,
      Duration.class, 81,
      List.of().getClass(), 82,
      List.of(1).getClass(), 83,
      List.of(1, 2, 3).getClass(), 84,
      List.of(1, 2, 3).subList(0, 2).getClass(), 85,
      Map.of().getClass(), 86,
      Map.of(1, 2).getClass(), 87,
      Map.of(1, 2, 3, 4).getClass(), 88,
      Set.of().getClass(), 89,
      Set.of(1).getClass(), 90,
      Set.of(1, 2, 3).getClass(), 91,
      ArrayList.class, 92,
      HashMap.class, 93,
      LinkedHashMap.class, 94,
      HashSet.class, 95);

  private static final Map<Class<?>, String> MANIFESTS = manifests(IDS);

  private final ExtendedActorSystem system;
  // Kryo instances are not thread-safe and Pekko serializes on many threads: each call borrows one.
  private final Pool<Kryo> kryos = new Pool<>(true, false, 4 * Runtime.getRuntime().availableProcessors()) {
    @Override
    protected Kryo create() {
      return newKryo();
    }
  };
  // Resolved on first use: the serializer is built while the ActorSystem starts, before extensions can load.
  private volatile ActorRefResolver resolver;

  public KryoSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    String manifest = MANIFESTS.get(o.getClass());
    if (manifest == null) {
      throw new IllegalArgumentException(
          o.getClass().getName() + " is not a KryoMessage registered in KryoSerializer.IDS; add it there");
    }
    return manifest;
  }

  @Override
  public byte[] toBinary(Object o) {
    manifest(o); // refuses an unregistered class before Kryo does, with a better message
    Kryo kryo = kryos.obtain();
    try (Output output = new Output(256, -1)) {
      kryo.writeObject(output, o);
      return output.toBytes();
    } finally {
      kryos.free(kryo);
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    Kryo kryo = kryos.obtain();
    try {
      Registration registration = kryo.getClassResolver().getRegistration(parseId(manifest));
      Class<?> type = registration == null ? null : registration.getType();
      if (type == null || !KryoMessage.class.isAssignableFrom(type)) {
        throw new NotSerializableException("KryoSerializer has no message with manifest " + manifest);
      }
      return kryo.readObject(new Input(bytes), type);
    } finally {
      kryos.free(kryo);
    }
  }

  private static int parseId(String manifest) throws NotSerializableException {
    try {
      return Integer.parseInt(manifest);
    } catch (NumberFormatException e) {
      throw new NotSerializableException("KryoSerializer manifest must be a registration id, got " + manifest);
    }
  }

  private Kryo newKryo() {
    Kryo kryo = new Kryo(new ActorRefClassResolver(), null);
    kryo.setRegistrationRequired(true);
    IDS.forEach((id, type) -> kryo.register(type, serializerFor(kryo, type), id));
    return kryo;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Serializer<?> serializerFor(Kryo kryo, Class<?> type) {
    if (type == ActorRef.class) {
      return new ActorRefSerializer();
    }
    if (type.isEnum()) {
      // By name, so reordering an enum's constants cannot change what a peer reads.
      return new EnumNameSerializer((Class<? extends Enum>) type);
    }
    return kryo.getDefaultSerializer(type);
  }

  private ActorRefResolver resolver() {
    ActorRefResolver r = resolver;
    if (r == null) {
      r = ActorRefResolver.get(Adapter.toTyped(system));
      resolver = r;
    }
    return r;
  }

  private static Map<Integer, Class<?>> table(Object... classesAndIds) {
    Map<Integer, Class<?>> ids = new LinkedHashMap<>();
    for (int i = 0; i < classesAndIds.length; i += 2) {
      Class<?> type = (Class<?>) classesAndIds[i];
      Integer id = (Integer) classesAndIds[i + 1];
      Class<?> earlier = ids.put(id, type);
      if (earlier != null) {
        throw new IllegalStateException("KryoSerializer id " + id + " is taken by " + earlier.getName());
      }
    }
    return Collections.unmodifiableMap(ids);
  }

  private static Map<Class<?>, String> manifests(Map<Integer, Class<?>> ids) {
    Map<Class<?>, String> manifests = new HashMap<>();
    ids.forEach((id, type) -> {
      if (KryoMessage.class.isAssignableFrom(type)) {
        manifests.put(type, Integer.toString(id));
      }
    });
    return Map.copyOf(manifests);
  }

  /** Sends every ActorRef implementation (local, remote, adapted) to the one registration for the interface. */
  private static final class ActorRefClassResolver extends DefaultClassResolver {
    @Override
    public Registration getRegistration(Class type) {
      Registration registration = super.getRegistration(type);
      if (registration == null && ActorRef.class.isAssignableFrom(type)) {
        return super.getRegistration(ActorRef.class);
      }
      return registration;
    }
  }

  private final class ActorRefSerializer extends Serializer<ActorRef<?>> {
    ActorRefSerializer() {
      super(false, true);
    }

    @Override
    public void write(Kryo kryo, Output output, ActorRef<?> ref) {
      output.writeString(resolver().toSerializationFormat(ref));
    }

    @Override
    public ActorRef<?> read(Kryo kryo, Input input, Class<? extends ActorRef<?>> type) {
      return resolver().resolveActorRef(input.readString());
    }
  }
}
