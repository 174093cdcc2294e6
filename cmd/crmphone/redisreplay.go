package main

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmphone/crmphone/tokens"
	"github.com/crmphone/crmphone/tokens/redisreplay"
)

func newRedisReplay(rdb *redis.Client) (tokens.ReplayStore, error) {
	return redisreplay.New(rdb, "crmphone:token:", time.Now)
}
