package io.agentpdp.web;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterProperties;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Request limits for every endpoint in one place: a declared Content-Length over the limit is refused
 * before reading, a chunked body is cut off as soon as it passes the limit, and a malformed query
 * string or an empty query parameter is refused. It runs right after authentication: an unknown caller
 * gets 401 before anything looks at its body, and a known caller's refusal here is recorded like any
 * other (nothing reads a body before this filter; the form-content filter is off).
 */
@Component
@Order(SecurityFilterProperties.DEFAULT_FILTER_ORDER + 1)
class RequestLimitsFilter extends OncePerRequestFilter {

    private final Problems problems;
    private final long maxBodyBytes;

    RequestLimitsFilter(Problems problems, WebProperties properties) {
        this.problems = problems;
        this.maxBodyBytes = properties.maxBodySize().toBytes();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getContentLengthLong() > maxBodyBytes) {
            problems.write(request, response, 413, "Payload too large",
                    "The request body exceeds the limit of " + maxBodyBytes + " bytes.");
            return;
        }
        String badParameter = badQueryParameter(request);
        if (badParameter != null) {
            problems.write(request, response, 400, "Invalid request", badParameter);
            return;
        }
        chain.doFilter(new LimitedRequest(request, maxBodyBytes), response);
    }

    /**
     * A query string must parse, and a parameter that is present must have a value: {@code ?status=}
     * would otherwise silently become the default. Only the query string is read, never the body.
     */
    private static String badQueryParameter(HttpServletRequest request) {
        String query = request.getQueryString();
        if (query == null || query.isEmpty()) {
            return null;
        }
        for (String pair : query.split("&", -1)) {
            int equals = pair.indexOf('=');
            String name = equals < 0 ? pair : pair.substring(0, equals);
            String value = equals < 0 ? "" : pair.substring(equals + 1);
            if (name.isEmpty()) {
                return "The query string is malformed.";
            }
            // Only reads take query parameters here (POST endpoints check their own): a method the path does
            // not support must still get its 405, whatever its query string says.
            if (value.isEmpty() && ("GET".equals(request.getMethod()) || "HEAD".equals(request.getMethod()))) {
                return "Query parameter '" + decode(name) + "' has no value.";
            }
        }
        return null;
    }

    private static String decode(String text) {
        try {
            return java.net.URLDecoder.decode(text, java.nio.charset.StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
        } catch (IllegalArgumentException e) {
            return "?";
        }
    }

    static final class BodyTooLargeException extends IOException {
        BodyTooLargeException(long limit) {
            super("The request body exceeds the limit of " + limit + " bytes.");
        }
    }

    private static final class LimitedRequest extends HttpServletRequestWrapper {

        private final long limit;
        private ServletInputStream stream;

        LimitedRequest(HttpServletRequest request, long limit) {
            super(request);
            this.limit = limit;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (stream == null) {
                stream = new LimitedStream(super.getInputStream(), limit);
            }
            return stream;
        }
    }

    private static final class LimitedStream extends ServletInputStream {

        private final ServletInputStream delegate;
        private final long limit;
        private long read;

        LimitedStream(ServletInputStream delegate, long limit) {
            this.delegate = delegate;
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = delegate.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = delegate.read(buffer, offset, length);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws BodyTooLargeException {
            read += n;
            if (read > limit) {
                throw new BodyTooLargeException(limit);
            }
        }

        @Override
        public boolean isFinished() {
            return delegate.isFinished();
        }

        @Override
        public boolean isReady() {
            return delegate.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            delegate.setReadListener(listener);
        }
    }
}
