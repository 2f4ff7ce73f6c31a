import type { GatewayType, PaymentMethodType } from '../domain/types';
import type { CurrencyCode } from '../domain/currencies';
import type { Gateway } from './gateways/gateway';

/** The gateways a worker can call, by type. One per type. */
export class GatewayRegistry {
  private readonly gateways = new Map<GatewayType, Gateway>();

  constructor(gateways: Iterable<Gateway> = []) {
    for (const g of gateways) this.register(g);
  }

  register(gateway: Gateway): void {
    this.gateways.set(gateway.type, gateway);
  }

  get(type: GatewayType): Gateway | undefined {
    return this.gateways.get(type);
  }

  all(): Gateway[] {
    return [...this.gateways.values()];
  }

  /** True when the gateway can take this currency and method at all. */
  static supports(gateway: Gateway, currency: CurrencyCode, method: PaymentMethodType): boolean {
    const { currencies, methods } = gateway.capabilities;
    return (currencies === 'all' || currencies.includes(currency)) && methods.includes(method);
  }
}
