// The proxy lives with the chaos harness, its main user; tests import it from here as before.
export { startTcpProxy, type TcpProxy } from '../../chaos/tcp-proxy.ts';
