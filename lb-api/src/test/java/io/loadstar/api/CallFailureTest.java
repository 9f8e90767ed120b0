package io.loadstar.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure.Kind;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLNonTransientConnectionException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class CallFailureTest {

  @Test
  void classify_connectionNeverMade_isNotSent() {
    assertThat(CallFailure.classify(new ConnectException("refused")).kind())
        .isEqualTo(Kind.NOT_SENT);
    assertThat(CallFailure.classify(new NoRouteToHostException()).kind()).isEqualTo(Kind.NOT_SENT);
    assertThat(CallFailure.classify(new UnknownHostException("db.internal")).kind())
        .isEqualTo(Kind.NOT_SENT);
    assertThat(CallFailure.classify(new SocketTimeoutException("Connect timed out")).kind())
        .isEqualTo(Kind.NOT_SENT);
    assertThat(CallFailure.classify(new SSLHandshakeException("bad certificate")).kind())
        .isEqualTo(Kind.NOT_SENT);
  }

  @Test
  void classify_wrappedByAClientLibrary_readsTheCauseChain() {
    // What a JDBC driver throws for a refused connection: the ConnectException is the cause.
    Exception jdbc =
        new SQLNonTransientConnectionException(
            "Socket fail to connect to 127.0.0.3", "08000", new ConnectException("refused"));
    CallFailure failure = CallFailure.classify(new IllegalStateException("pool", jdbc));
    assertThat(failure.kind()).isEqualTo(Kind.NOT_SENT);
    assertThat(failure.cause()).isInstanceOf(IllegalStateException.class); // the whole exception
  }

  @Test
  void classify_everySuppressedExceptionAConnectFailure_isNotSent() {
    // What Jedis 8 throws for a refused host: no cause, one suppressed error per address tried.
    Exception jedis = new RuntimeException("Failed to connect to 127.0.0.3:6379.");
    jedis.addSuppressed(new ConnectException("Connection refused"));
    assertThat(CallFailure.classify(jedis).kind()).isEqualTo(Kind.NOT_SENT);
    // One suppressed error that is no connect failure: the request may have gone out.
    Exception mixed = new RuntimeException("read failed");
    mixed.addSuppressed(new ConnectException("Connection refused"));
    mixed.addSuppressed(new IOException("Broken pipe"));
    assertThat(CallFailure.classify(mixed).kind()).isEqualTo(Kind.POSSIBLY_PROCESSED);
  }

  @Test
  void classify_afterSending_isPossiblyProcessed() {
    assertThat(CallFailure.classify(new SocketTimeoutException("Read timed out")).kind())
        .isEqualTo(Kind.POSSIBLY_PROCESSED);
    assertThat(CallFailure.classify(new SocketTimeoutException()).kind())
        .isEqualTo(Kind.POSSIBLY_PROCESSED);
    assertThat(CallFailure.classify(new IOException("Connection reset")).kind())
        .isEqualTo(Kind.POSSIBLY_PROCESSED);
    assertThat(CallFailure.classify(new IllegalStateException("bug")).kind())
        .isEqualTo(Kind.POSSIBLY_PROCESSED);
  }

  @Test
  void classify_causeCycle_ends() {
    Exception a = new Exception("a");
    Exception b = new Exception("b", a);
    a.initCause(b);
    assertThat(CallFailure.classify(a).kind()).isEqualTo(Kind.POSSIBLY_PROCESSED);
    assertThat(FailureClassifier.standard().classify(new ConnectException()).kind())
        .isEqualTo(Kind.NOT_SENT);
  }
}
