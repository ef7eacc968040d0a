import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { RoutingModule } from '../routing/routing.module';
import { Connection } from './connection.entity';
import { ConnectionsService } from './connections.service';
import { CredentialsCipher } from './credentials-cipher';

@Module({
  imports: [TypeOrmModule.forFeature([Connection]), RoutingModule],
  providers: [ConnectionsService, CredentialsCipher],
  exports: [ConnectionsService, CredentialsCipher],
})
export class ConnectionsModule {}
