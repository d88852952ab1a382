// oidc-provider's storage adapter interface (upsert, find, findByUid, findByUserCode, consume,
// destroy, revokeByGrantId) on Redis through ioredis, as a production deployment keeps its
// state. Each model's records live under "MODEL:ID"; the models that can be consumed (codes,
// refresh tokens, device and CIBA requests) are hashes with a "payload" field (JSON) so that
// consume() only sets a "consumed" field; the others are JSON strings. A grant's records are
// listed under "grant:GRANT_ID" (for revokeByGrantId), a session under "sessionUid:UID", a
// device flow under "userCode:CODE". Every record expires with its own lifetime.

const CONSUMABLE = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);
const GRANTABLE = new Set([...CONSUMABLE, 'AccessToken']);

const grantKey = (grantId) => `grant:${grantId}`;
const sessionUidKey = (uid) => `sessionUid:${uid}`;
const userCodeKey = (userCode) => `userCode:${userCode}`;

export class RedisAdapter {
  // The adapter class oidc-provider instantiates per model name, bound to one ioredis client.
  static using(client) {
    return class extends RedisAdapter {
      constructor(model) {
        super(model, client);
      }
    };
  }

  constructor(model, client) {
    this.model = model;
    this.client = client;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const json = JSON.stringify(payload);
    const transaction = this.client.multi();
    if (CONSUMABLE.has(this.model)) {
      transaction.del(key);
      transaction.hset(key, 'payload', json);
      if (expiresIn) transaction.expire(key, expiresIn);
    } else if (expiresIn) {
      transaction.set(key, json, 'EX', expiresIn);
    } else {
      transaction.set(key, json);
    }
    if (GRANTABLE.has(this.model) && payload.grantId) {
      const list = grantKey(payload.grantId);
      transaction.rpush(list, key);
      // The list lives as long as its longest-lived member: set a lifetime on a new list,
      // extend it for a longer-lived member, never shorten it (Redis 7's NX and GT).
      if (expiresIn) transaction.expire(list, expiresIn, 'NX').expire(list, expiresIn, 'GT');
    }
    if (payload.userCode) {
      transaction.set(userCodeKey(payload.userCode), id, ...(expiresIn ? ['EX', expiresIn] : []));
    }
    if (payload.uid) {
      transaction.set(sessionUidKey(payload.uid), id, ...(expiresIn ? ['EX', expiresIn] : []));
    }
    await transaction.exec();
  }

  async find(id) {
    const key = this.key(id);
    if (CONSUMABLE.has(this.model)) {
      const { payload, consumed } = await this.client.hgetall(key);
      if (!payload) return undefined;
      return consumed ? { ...JSON.parse(payload), consumed: Number(consumed) } : JSON.parse(payload);
    }
    const json = await this.client.get(key);
    return json ? JSON.parse(json) : undefined;
  }

  async findByUid(uid) {
    const id = await this.client.get(sessionUidKey(uid));
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = await this.client.get(userCodeKey(userCode));
    return id ? this.find(id) : undefined;
  }

  async consume(id) {
    await this.client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }

  async destroy(id) {
    await this.client.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const list = grantKey(grantId);
    const keys = await this.client.lrange(list, 0, -1);
    const transaction = this.client.multi();
    for (const key of keys) transaction.del(key);
    transaction.del(list);
    await transaction.exec();
  }
}
