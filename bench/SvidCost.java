import com.nimbusds.jose.*;
import com.nimbusds.jose.crypto.*;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.*;
import com.nimbusds.jose.jwk.gen.*;
import com.nimbusds.jwt.*;
import java.util.Date;

/**
 * CPU of one JWT-SVID parse and signature check as JwtSvidVerifier makes it (nimbus), ES256 (SPIRE's default) and
 * RS256, 20,000 times each on one thread. Not part of make bench; run from the repository root:
 * <pre>./mvnw -q dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt && java -cp "$(cat /tmp/cp.txt)" bench/SvidCost.java</pre>
 */
public class SvidCost {
    public static void main(String[] a) throws Exception {
        ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("k").generate();
        RSAKey rsa = new RSAKeyGenerator(2048).keyID("k").generate();
        for (int round = 0; round < 3; round++) {
            run("ES256", JWSAlgorithm.ES256, new ECDSASigner(ec), ec.toECPublicKey());
            run("RS256", JWSAlgorithm.RS256, new RSASSASigner(rsa), rsa.toRSAPublicKey());
        }
    }
    static void run(String name, JWSAlgorithm alg, JWSSigner signer, java.security.PublicKey key) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("spiffe://bench/agent-1").audience("agent-pdp")
                .expirationTime(new Date(System.currentTimeMillis() + 300_000)).issueTime(new Date()).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID("k").type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(signer);
        String token = jwt.serialize();
        DefaultJWSVerifierFactory factory = new DefaultJWSVerifierFactory();
        int n = 20000;
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        for (int w = 0; w < n; w++) { SignedJWT p = SignedJWT.parse(token); p.verify(factory.createJWSVerifier(p.getHeader(), key)); }
        long cpu0 = bean.getCurrentThreadCpuTime();
        for (int i = 0; i < n; i++) {
            SignedJWT p = SignedJWT.parse(token);
            if (!p.verify(factory.createJWSVerifier(p.getHeader(), key))) throw new IllegalStateException();
            p.getJWTClaimsSet();
        }
        long cpu = bean.getCurrentThreadCpuTime() - cpu0;
        System.out.printf("%s: %.3f ms CPU per parse+verify (%d)%n", name, cpu / 1e6 / n, n);
    }
}
